// Accumulated comparison: every tensor both models compute (matched by
// name), quantized vs float, per sample, aggregated over samples. Memory stays
// bounded by what one run exposes: a probe run on one sample measures each
// tensor's bytes, then each inference takes as few samples, and each pair of
// sessions as few tensors, as keep a run under COMPARE_BYTES_PER_RUN per model
// (on a real-size model every tensor of a few samples; on a small one every
// tensor of the whole batch). For each chunk of tensors one session per model
// is opened and the batches stream through. A real-size model's runs are
// compared on the spare cores as well (compare-threads.ts).
import { QtuneError } from '../../shared/errors';
import type { TensorComparison } from '../../shared/analysis-types';
import { createSession, exposeTensors, type OnnxModel, type ort } from '../onnx';
import { ComparePool, compareTask, defaultCompareThreads, THREADED_COMPARE_MIN_VALUES, type CompareTask } from './compare-threads';
import { planDerivations } from './derived-tensors';
import type { QdqLayer } from './qdq-layers';
import { cancelPoint, canSplitBatches, firstBatch, MetricAccumulator, numericData, sampleCount, sliceShape, splitBatch, throwIfAborted, type Batches, type SampleBatch } from './samples';

export interface TensorMatch {
  /** tensors both models compute, in float-model node order */
  common: string[];
  onlyInFloat: string[];
  onlyInQuant: string[];
}

function nodeOutputs(model: OnnxModel): string[] {
  const out: string[] = [];
  for (const n of model.graph.nodes) for (const o of n.output) if (o) out.push(o);
  return out;
}

/** Match the two models' node outputs by name. */
export function matchTensors(float: OnnxModel, quant: OnnxModel): TensorMatch {
  const f = nodeOutputs(float);
  const q = nodeOutputs(quant);
  const fs = new Set(f), qs = new Set(q);
  return {
    common: f.filter((n) => qs.has(n)),
    onlyInFloat: f.filter((n) => !qs.has(n)),
    onlyInQuant: q.filter((n) => !fs.has(n)),
  };
}

/** Bytes of exposed tensors one run hands to JavaScript, per model. */
export const COMPARE_BYTES_PER_RUN = 128 * 1024 ** 2;

export interface CompareOptions {
  /** the samples; a stream is read once per chunk of tensors */
  batches: Batches;
  /** most tensors exposed per inference (default: as many as the byte budget allows); each chunk costs one more pass */
  maxTensorsPerRun?: number;
  /** exposed bytes per run and model (default COMPARE_BYTES_PER_RUN) */
  bytesPerRun?: number;
  signal?: AbortSignal;
  /**
   * Another pass that rides along: given the ranks the probe saw, a model to run in place of the float model
   * on the first chunk of tensors (the float model with more outputs: the isolated pass's twin), so the same
   * samples do not go through the float model twice.
   */
  rider?: (ranks: ReadonlyMap<string, number>) => Promise<FloatRider | undefined>;
  /** comparison threads besides the calling one (default: the spare cores, for a run of more than THREADED_COMPARE_MIN_VALUES values) */
  threads?: number;
  /** most milliseconds of comparison between two looks at the event loop (a Cancel arriving); default 50 */
  cancelSliceMs?: number;
  onProgress?: (done: number, total: number) => void;
}

/** A model run in place of the float model: every float tensor plus `fetches`, folded per run by `take`. */
export interface FloatRider {
  model: OnnxModel;
  fetches: string[];
  take(out: Record<string, ort.Tensor>, batch: SampleBatch): void;
}

export interface AccumulatedResult extends TensorMatch {
  tensors: TensorComparison[];
  notCompared: { name: string; reason: string }[];
  /** rank of each compared tensor as the model computes it (batch axis included) */
  ranks: Map<string, number>;
  /** samples per inference that kept a run of every tensor under the byte budget (for the analyzer's other passes) */
  rowsPerRun?: number;
}

export async function runSession(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, fetches: string[], role: string): Promise<Record<string, ort.Tensor>> {
  try {
    return (await session.run(feeds, fetches)) as Record<string, ort.Tensor>;
  } catch (e) {
    throw new QtuneError('analyze_inference', `the ${role} model failed to run: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** The metrics of every task on the calling thread, looking for a Cancel between tasks. */
async function compareInThread(tasks: readonly CompareTask[], pause: () => Promise<void>) {
  const out = [];
  for (const t of tasks) {
    await pause();
    out.push(compareTask(t));
  }
  return out;
}

/** Compare every tensor present in both models over the batches. */
export async function compareAccumulated(float: OnnxModel, quant: OnnxModel, quantLayers: readonly QdqLayer[], opts: CompareOptions): Promise<AccumulatedResult> {
  const match = matchTensors(float, quant);
  const floatIdx = float.graph.index();
  const layerByOutput = new Map(quantLayers.map((l) => [l.outputTensor, l]));
  const acc = new Map<string, { acc: MetricAccumulator; shape?: number[] }>();
  const ranks = new Map<string, number>();
  const notCompared = new Map<string, string>();
  const budget = opts.bytesPerRun ?? COMPARE_BYTES_PER_RUN;
  const first = firstBatch(opts.batches);
  if (!first || match.common.length === 0) return { ...match, tensors: [], notCompared: [], ranks };
  throwIfAborted(opts.signal);
  // probe: the float model on one sample (or the first batch, when the batch cannot be split) gives each tensor's bytes
  const splittable = canSplitBatches(float);
  const probeBatch = splittable ? splitBatch(first, 1)[0] : first;
  const bytesPerRow = new Map<string, number>();
  const probeRanks = new Map<string, number>();
  const float32 = new Set<string>();
  {
    const probe = await createSession(exposeTensors(float, match.common), { lowMemory: true });
    try {
      const out = await runSession(probe, probeBatch.feeds, match.common, 'float');
      for (const name of match.common) {
        const t = out[name];
        // as compared: float32 data as is, other numbers as float64
        const bytes = (t.data as ArrayLike<number>).length * (t.data instanceof Float32Array ? 4 : 8);
        bytesPerRow.set(name, t.dims.length > 0 && t.dims[0] === probeBatch.rows ? bytes / probeBatch.rows : bytes);
        probeRanks.set(name, t.dims.length);
        if (t.data instanceof Float32Array) float32.add(name);
      }
    } finally {
      await probe.release();
    }
  }
  const total1 = match.common.reduce((a, n) => a + bytesPerRow.get(n)!, 0);
  const rowsPerRun = splittable ? Math.max(1, Math.min(first.rows, Math.floor(budget / Math.max(1, total1)))) : first.rows;
  const per = Math.max(1, opts.maxTensorsPerRun ?? match.common.length);
  const chunks: string[][] = [];
  let cur: string[] = [];
  let curBytes = 0;
  for (const name of match.common) {
    const b = bytesPerRow.get(name)! * rowsPerRun;
    if (cur.length > 0 && (cur.length >= per || curBytes + b > budget)) {
      chunks.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push(name);
    curBytes += b;
  }
  if (cur.length > 0) chunks.push(cur);
  // progress in samples compared: each chunk of tensors is one pass over the samples
  const total = chunks.length * sampleCount(opts.batches);
  let done = 0;
  // a run's tensors of a real-size model take seconds to compare: a Cancel is looked for between tensors
  const pause = cancelPoint(opts.signal, opts.cancelSliceMs);
  opts.onProgress?.(0, total);
  // comparison threads for a real-size model, started here so they start while the sessions are made
  const valuesPerRun = (total1 * rowsPerRun) / 4;
  const threads = opts.threads ?? (valuesPerRun >= THREADED_COMPARE_MIN_VALUES ? defaultCompareThreads() : 0);
  const pool = ComparePool.start(threads);
  try {
    const rider = opts.rider ? await opts.rider(probeRanks) : undefined;
    for (const [c, chunk] of chunks.entries()) {
      throwIfAborted(opts.signal);
      const ride = c === 0 && rider && rider.fetches.length > 0 ? rider : undefined;
      // each side fetches what it cannot derive from the rest of the chunk (see derived-tensors.ts)
      const floatSide = planDerivations(float, chunk, float32), quantSide = planDerivations(quant, chunk, float32);
      // without ORT's arena: it would keep the largest run's activations of both models after the run
      const fm = exposeTensors(ride ? ride.model : float, floatSide.fetched), qm = exposeTensors(quant, quantSide.fetched);
      // (each run's outputs are fresh arrays: onnxruntime-node copies every output into a new ArrayBuffer even when
      // it is handed buffers to fill, so handing it the previous run's saved no time and held twice the memory)
      const fs = await createSession(fm, { lowMemory: true });
      const qs = await createSession(qm, { lowMemory: true });
      try {
        for await (const whole of opts.batches) for (const batch of splittable ? splitBatch(whole, rowsPerRun) : [whole]) {
          throwIfAborted(opts.signal);
          const fo = await runSession(fs, batch.feeds, ride ? [...floatSide.fetched, ...ride.fetches] : floatSide.fetched, ride ? 'twin' : 'float');
          ride?.take(fo, batch);
          const qo = await runSession(qs, batch.feeds, quantSide.fetched, 'quantized');
          const tasks: CompareTask[] = [];
          const owners: { acc: MetricAccumulator; samples: number[] }[] = [];
          for (const name of chunk) {
            if (notCompared.has(name)) continue;
            // a Relu output not fetched is its input read through the Relu
            const fRelu = floatSide.reluOf.get(name), qRelu = quantSide.reluOf.get(name);
            const ft = fo[fRelu ?? name], qt = qo[qRelu ?? name];
            const fd = numericData(ft), qd = numericData(qt);
            if (!fd || !qd) { notCompared.set(name, `not numeric (${ft.type})`); continue; }
            if (fd.length === 0 && qd.length === 0) continue; // an If branch these samples did not take
            if (fd.length !== qd.length || ft.dims.join() !== qt.dims.join()) {
              notCompared.set(name, `shapes differ: float [${ft.dims.join(', ')}], quantized [${qt.dims.join(', ')}]`);
              continue;
            }
            let entry = acc.get(name);
            if (!entry) acc.set(name, (entry = { acc: new MetricAccumulator(), shape: sliceShape(ft.dims, batch) }));
            ranks.set(name, ft.dims.length);
            // one slice per real sample when the first axis is the batch axis, else the whole tensor for the batch's first sample
            const perSample = ft.dims.length > 0 && ft.dims[0] === batch.rows && batch.rows > 0;
            const relu = fRelu || qRelu ? { x: qRelu !== undefined, y: fRelu !== undefined } : undefined;
            tasks.push({ x: qd, y: fd, per: perSample ? fd.length / batch.rows : fd.length, count: perSample ? batch.indices.length : 1, ...(relu ? { relu } : {}) });
            owners.push({ acc: entry.acc, samples: perSample ? batch.indices : [batch.indices[0]] });
          }
          const results = pool ? await pool.compare(tasks, pause) : await compareInThread(tasks, pause);
          results.forEach((r, k) => r.forEach((m, s) => owners[k].acc.add(m, owners[k].samples[s])));
          done += batch.indices.length;
          opts.onProgress?.(done, total);
        }
      } finally {
        await fs.release();
        await qs.release();
      }
    }
  } finally {
    await pool?.close();
  }
  // (fewer samples than counted when unreadable images were skipped)
  if (done !== total) opts.onProgress?.(total, total);
  const tensors: TensorComparison[] = [];
  for (const name of match.common) {
    const entry = acc.get(name);
    if (!entry || notCompared.has(name)) continue;
    const producer = floatIdx.producers.get(name);
    const layer = layerByOutput.get(name);
    tensors.push({
      index: producer ? floatIdx.position.get(producer) ?? -1 : -1,
      name,
      opType: producer?.opType ?? 'Input',
      nodeName: producer?.name ?? '',
      shape: entry.shape ?? [],
      ...(layer ? { quantizedLayer: { name: layer.name, opType: layer.opType } } : {}),
      samples: entry.acc.samples,
      metrics: entry.acc.result(),
    });
  }
  return {
    ...match,
    tensors,
    notCompared: [...notCompared].map(([name, reason]) => ({ name, reason })),
    ranks,
    ...(splittable ? { rowsPerRun } : {}),
  };
}
