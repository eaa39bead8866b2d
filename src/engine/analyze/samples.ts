// The analyzer's samples and per-sample bookkeeping. The S compared samples
// are the first S of the dataset, in its order, fed to every model variant, so
// each variant sees exactly the same inputs.
import { throwIfAborted } from '../../shared/errors';

export { throwIfAborted };

/**
 * A cancellation point for long synchronous work (comparing a run's tensors,
 * weight errors): such work holds the event loop, so a Cancel (a message from
 * the app, Ctrl+C) is only seen at an await. The function returned lets the
 * event loop run once `sliceMs` of work has passed since it last did, then
 * checks the signal, so a Cancel is answered within about one slice.
 */
export function cancelPoint(signal: AbortSignal | undefined, sliceMs = 50): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      last = performance.now();
    }
    throwIfAborted(signal);
  };
}
import { METRIC_KEYS, METRIC_WORSE, type MetricAggregate, type MetricKey, type TensorMetrics } from '../../shared/analysis-types';
import type { Dataset } from '../data/dataset';
import { ort, shapeOf, toOrtFeeds, type OnnxModel } from '../onnx';

export interface SampleBatch {
  feeds: Record<string, ort.Tensor>;
  /** dataset indices of the real samples, in row order */
  indices: number[];
  /** rows in the batch, padding rows included */
  rows: number;
}

/** The first `samples` samples of the dataset as ready-to-run batches. */
export async function collectBatches(dataset: Dataset, samples: number, batchSize: number, signal?: AbortSignal): Promise<SampleBatch[]> {
  const out: SampleBatch[] = [];
  for await (const b of readBatches(dataset, samples, batchSize, signal)) out.push(b);
  return out;
}

async function* readBatches(dataset: Dataset, samples: number, batchSize: number, signal?: AbortSignal): AsyncGenerator<SampleBatch> {
  const size = dataset.effectiveBatchSize(Math.max(1, Math.min(batchSize, samples)));
  for await (const b of dataset.batches({ batchSize: size, limit: samples })) {
    throwIfAborted(signal);
    yield { feeds: toOrtFeeds(b.feeds), indices: b.indices, rows: b.indices.length + b.padded };
  }
}

/**
 * The first `samples` samples of a dataset as batches read anew on every pass
 * over them: the analyzer's passes then hold a batch or two of inputs, not all
 * of them (at 224×224 a thousand samples are 600 MB). The first batch is kept
 * (probes run on it).
 */
export class SampleStream implements AsyncIterable<SampleBatch> {
  private seen?: number[];

  private constructor(
    private readonly dataset: Dataset,
    /** samples a pass yields (fewer when unreadable images are skipped) */
    readonly samples: number,
    private readonly batchSize: number,
    private readonly signal: AbortSignal | undefined,
    readonly first: SampleBatch | undefined,
  ) {}

  static async open(dataset: Dataset, samples: number, batchSize: number, signal?: AbortSignal): Promise<SampleStream> {
    const want = Math.max(0, Math.min(samples, dataset.count));
    let first: SampleBatch | undefined;
    for await (const b of readBatches(dataset, want, batchSize, signal)) {
      first = b;
      break;
    }
    return new SampleStream(dataset, want, batchSize, signal, first);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SampleBatch> {
    const indices: number[] = [];
    for await (const b of readBatches(this.dataset, this.samples, this.batchSize, this.signal)) {
      indices.push(...b.indices);
      yield b;
    }
    this.seen ??= indices;
  }

  /** dataset indices of the samples, once a pass went through them all */
  get indices(): number[] | undefined {
    return this.seen;
  }
}

/** Batches as the analyzer's passes take them: held in memory, or streamed from the dataset. */
export type Batches = readonly SampleBatch[] | SampleStream;

export function firstBatch(batches: Batches): SampleBatch | undefined {
  return batches instanceof SampleStream ? batches.first : batches[0];
}

/** Real samples (padding rows left out) in a pass over the batches. */
export function sampleCount(batches: Batches): number {
  return batches instanceof SampleStream ? batches.samples : batches.reduce((a, b) => a + b.indices.length, 0);
}

/** The batches of the first `samples` samples (all of them when undefined), held in memory. */
export async function firstSamples(batches: Batches, samples?: number): Promise<SampleBatch[]> {
  const out: SampleBatch[] = [];
  let n = 0;
  for await (const b of batches) {
    if (samples !== undefined && n >= samples) break;
    out.push(b);
    n += b.indices.length;
  }
  return out;
}

/** Whether the model's batch axis is free, so that a batch may run a few samples at a time. */
export function canSplitBatches(model: OnnxModel): boolean {
  return model.graph.feedInputs.every((v) => {
    const d0 = shapeOf(v.type)?.[0];
    return !(typeof d0 === 'number' && d0 > 1);
  });
}

/**
 * The batch as runs of at most `rows` samples (views of the same feeds). A batch
 * with padding rows, or whose feeds lack the batch axis, stays whole.
 */
export function splitBatch(batch: SampleBatch, rows: number): SampleBatch[] {
  const feeds = Object.values(batch.feeds);
  if (rows >= batch.rows || batch.rows !== batch.indices.length || !feeds.some((t) => t.dims[0] === batch.rows)) return [batch];
  const out: SampleBatch[] = [];
  for (let start = 0; start < batch.rows; start += rows) {
    const end = Math.min(batch.rows, start + rows);
    const sub: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(batch.feeds)) {
      if (t.dims[0] !== batch.rows || typeof t.data === 'string' || !('subarray' in t.data)) {
        sub[name] = t;
        continue;
      }
      const per = t.data.length / batch.rows;
      sub[name] = new ort.Tensor(t.type, (t.data as Float32Array).subarray(start * per, end * per), [end - start, ...t.dims.slice(1)]);
    }
    out.push({ feeds: sub, indices: batch.indices.slice(start, end), rows: end - start });
  }
  return out;
}

/** Numbers of a tensor (any numeric type); undefined for strings and bools. */
export function numericData(t: ort.Tensor): ArrayLike<number> | undefined {
  const d = t.data;
  if (d instanceof Float32Array || d instanceof Float64Array) return d;
  if (t.type === 'bool' || t.type === 'string') return undefined;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, Number);
  if (ArrayBuffer.isView(d)) return d as unknown as ArrayLike<number>;
  return undefined;
}

export interface SampleSlice {
  sample: number;
  data: ArrayLike<number>;
}

/**
 * One slice per real sample when the tensor's first axis is the batch axis;
 * otherwise (a tensor without a batch axis) the whole tensor counts as one
 * observation, attributed to the batch's first sample.
 */
export function sliceSamples(data: ArrayLike<number>, dims: readonly number[], batch: SampleBatch): SampleSlice[] {
  if (dims.length > 0 && dims[0] === batch.rows && batch.rows > 0) {
    const per = data.length / batch.rows;
    const sub = (data as Float32Array).subarray ? (data as Float32Array) : Float64Array.from(data);
    return batch.indices.map((sample, r) => ({ sample, data: sub.subarray(r * per, (r + 1) * per) }));
  }
  return [{ sample: batch.indices[0], data }];
}

export function sliceShape(dims: readonly number[], batch: SampleBatch): number[] {
  return dims.length > 0 && dims[0] === batch.rows ? dims.slice(1) : [...dims];
}

/**
 * Running mean / worst of every metric over samples; never holds the samples.
 * The mean is over finite values (one sample with identical tensors, SQNR
 * +Infinity, must not hide the others' error); NaN values are counted apart.
 */
export class MetricAccumulator {
  private readonly sum = new Map<MetricKey, number>();
  private readonly count = new Map<MetricKey, number>();
  private readonly nan = new Map<MetricKey, number>();
  private readonly worst = new Map<MetricKey, { value: number; sample: number }>();
  /** an infinite value seen (SQNR of identical tensors): the mean only when no sample is finite */
  private readonly infinite = new Map<MetricKey, number>();
  samples = 0;

  add(m: TensorMetrics, sample: number): void {
    this.samples++;
    for (const k of METRIC_KEYS) {
      const v = m[k];
      if (Number.isNaN(v)) {
        this.nan.set(k, (this.nan.get(k) ?? 0) + 1);
        continue;
      }
      if (Number.isFinite(v)) {
        this.sum.set(k, (this.sum.get(k) ?? 0) + v);
        this.count.set(k, (this.count.get(k) ?? 0) + 1);
      } else {
        this.infinite.set(k, v);
      }
      const w = this.worst.get(k);
      const dir = METRIC_WORSE[k];
      if (!w || (dir === 'lower' && v < w.value) || (dir === 'higher' && v > w.value) || dir === 'none') this.worst.set(k, { value: v, sample });
    }
  }

  result(): Record<MetricKey, MetricAggregate> {
    const out = {} as Record<MetricKey, MetricAggregate>;
    for (const k of METRIC_KEYS) {
      const n = this.count.get(k) ?? 0;
      const w = this.worst.get(k);
      out[k] = {
        mean: n > 0 ? this.sum.get(k)! / n : this.infinite.get(k) ?? NaN,
        worst: w ? w.value : NaN,
        worstSample: w ? w.sample : -1,
        nanCount: this.nan.get(k) ?? 0,
      };
    }
    return out;
  }
}
