// Isolated sensitivity (AMCT's per-layer sensitivity): each quantized layer
// alone, fed the FLOAT input, against the float layer. One inference of the
// twin model (see variants.ts) gives every float output next to its twin.
import type { IsolatedSensitivity } from '../../shared/analysis-types';
import { DT, createSession, declaredTensorTypes, makeInt64Tensor, makeNode, makeValueInfo, nameAllocator, runExposed, type AttrValue, type OnnxModel, type ort } from '../onnx';
import { runSession } from './compare';
import { cosineFromDiff, cosineFromSums, EPS, sqnrFromSums } from '../eval/metrics';
import type { QdqLayer } from './qdq-layers';
import { firstBatch, sampleCount, splitBatch, throwIfAborted, type Batches, type SampleBatch } from './samples';
import { buildTwinModel, type TwinModel } from './variants';

/** 0.5 + 0.5·cos; 1 when the float output (y) is all zero, 0 when only the quantized one (x) is. */
function sensitivity(cos: number, xx: number, yy: number): number {
  if (Math.sqrt(yy) <= EPS) return 1;
  if (Math.sqrt(xx) <= EPS) return 0;
  return 0.5 + 0.5 * cos;
}

/** The isolated sensitivity from the sums x·y, ‖x‖², ‖y‖². */
export function sensitivityFromSums(dot: number, xx: number, yy: number): number {
  return sensitivity(cosineFromSums(dot, xx, yy), xx, yy);
}

export interface IsolatedOptions {
  batches: Batches;
  /** rank of layer output tensors when already known (saves a probing inference) */
  knownRanks?: ReadonlyMap<string, number>;
  /** most samples per twin inference (bounds the twin's activations on real-size models); default: whole batches */
  rowsPerRun?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface IsolatedResult {
  byLayer: Map<string, IsolatedSensitivity>;
  failed: { layer: string; message: string }[];
  /** milliseconds: building the twin model, creating its session, running the batches */
  timings: { buildMs: number; sessionMs: number; runMs: number };
}

class SensitivityAccumulator {
  sum = 0; n = 0; worst = Infinity; worstSample = -1;
  cosSum = 0; cosN = 0; sqnrSum = 0; sqnrN = 0; sqnrInf = 0;

  /** one sample's sums: x = twin (quantized) output, y = float output */
  add(xx: number, yy: number, dd: number, sample: number): void {
    const c = cosineFromDiff(xx, yy, dd);
    const s = sensitivity(c, xx, yy);
    this.sum += s; this.n++;
    if (s < this.worst) { this.worst = s; this.worstSample = sample; }
    if (!Number.isNaN(c)) { this.cosSum += c; this.cosN++; }
    const q = sqnrFromSums(yy, dd);
    if (Number.isFinite(q)) { this.sqnrSum += q; this.sqnrN++; } else this.sqnrInf = q;
  }

  result(): IsolatedSensitivity {
    return {
      sensitivity: this.n ? this.sum / this.n : NaN,
      worst: this.n ? this.worst : NaN,
      worstSample: this.worstSample,
      cosine: this.cosN ? this.cosSum / this.cosN : NaN,
      sqnrDb: this.sqnrN ? this.sqnrSum / this.sqnrN : this.sqnrInf || NaN,
    };
  }
}

interface PairSums { layer: string; xx: string; yy: string; dd: string }

/**
 * Rank of each float layer output: from the model's declared types, else from
 * one run of the float model on the first batch (fetching only those tensors).
 */
async function outputRanks(float: OnnxModel, names: string[], batch: SampleBatch | undefined, known?: ReadonlyMap<string, number>): Promise<Map<string, number>> {
  const ranks = new Map<string, number>();
  for (const n of names) { const r = known?.get(n); if (r !== undefined) ranks.set(n, r); }
  for (const [name, t] of declaredTensorTypes(float)) if (t.shape && names.includes(name) && !ranks.has(name)) ranks.set(name, t.shape.length);
  const missing = names.filter((n) => !ranks.has(n));
  if (missing.length > 0 && batch) {
    const out = await runExposed(float, batch.feeds, missing);
    for (const n of missing) ranks.set(n, out[n].dims.length);
  }
  return ranks;
}

/**
 * Reduce each float/twin pair to per-sample ‖x‖², ‖y‖², ‖x−y‖² inside the
 * graph (sums over every axis but the first), so the run returns 3 numbers
 * per sample and layer instead of both full tensors: fetching every layer
 * output costs several times the twin inference itself. The sums stay
 * float32 (a float64 cast doubled the pass's cost); the difference is taken
 * before squaring, so 1 − cos keeps its precision even when it is tiny.
 */
function addPairReductions(twin: TwinModel, ranks: Map<string, number>): PairSums[] {
  const model = twin.model;
  const g = model.graph;
  const used = new Set<string>();
  for (const n of g.nodes) for (const o of n.output) used.add(o);
  for (const t of g.initializers) used.add(t.name ?? '');
  const allocate = nameAllocator(used);
  const fresh = (base: string) => allocate(`__qtune_iso_${base}`);
  // ReduceSumSquare takes its axes as an attribute up to opset 17 and as an input from 18
  const axesAsInput = (model.opsetVersion() ?? 13) >= 18;
  const axesInputs = new Map<number, string>();
  const reduce = (x: string, rank: number, out: string) => {
    // a rank-0/1 tensor has no per-sample axis: it is summed whole (one row)
    const axes = rank >= 2 ? Array.from({ length: rank - 1 }, (_, i) => i + 1) : rank === 1 ? [0] : [];
    let input = axesInputs.get(rank);
    if (axesAsInput && input === undefined && axes.length) {
      input = fresh(`axes_${rank}`);
      g.addInitializer(makeInt64Tensor(input, axes));
      axesInputs.set(rank, input);
    }
    const attrs: Record<string, AttrValue> = axesAsInput || axes.length === 0 ? { keepdims: 0 } : { axes, keepdims: 0 };
    return makeNode('ReduceSumSquare', axesAsInput && input ? [x, input] : [x], [out], { name: fresh(`${out}_node`), attrs });
  };
  const out: PairSums[] = [];
  twin.pairs.forEach((p, k) => {
    const rank = ranks.get(p.floatOutput);
    if (rank === undefined) return;
    const diff = fresh(`${k}_diff`);
    g.addNode(makeNode('Sub', [p.twinOutput, p.floatOutput], [diff], { name: fresh(`${k}_sub`) }));
    const sums = { layer: p.layer.name, xx: fresh(`${k}_xx`), yy: fresh(`${k}_yy`), dd: fresh(`${k}_dd`) };
    g.addNode(reduce(p.twinOutput, rank, sums.xx));
    g.addNode(reduce(p.floatOutput, rank, sums.yy));
    g.addNode(reduce(diff, rank, sums.dd));
    for (const o of [sums.xx, sums.yy, sums.dd]) g.outputs.push(makeValueInfo(o, DT.FLOAT, null));
    out.push(sums);
  });
  return out;
}

/**
 * The isolated pass as a rider on another pass over the samples: the twin
 * model with its per-layer sums as outputs, the outputs to fetch, and what to
 * do with them per run. The accumulated comparison runs the twin in place of
 * the float model (the twin computes every float tensor too), so the float
 * model is not run twice over the same samples.
 */
export interface TwinPass {
  /** the float model plus every layer's twin and the sums (a superset of the float model's tensors) */
  model: OnnxModel;
  fetches: string[];
  /** fold one run's sums (`batch`: the run's rows) */
  take(out: Record<string, ort.Tensor>, batch: SampleBatch): void;
  result(): IsolatedResult;
  timings: IsolatedResult['timings'];
}

/** Build the twin model for `layers` and its accumulators. */
export async function prepareTwinPass(float: OnnxModel, quant: OnnxModel, layers: readonly QdqLayer[], opts: { firstBatch?: SampleBatch; knownRanks?: ReadonlyMap<string, number> }): Promise<TwinPass> {
  const t = performance.now();
  const timings = { buildMs: 0, sessionMs: 0, runMs: 0 };
  const twin = buildTwinModel(float, quant, layers);
  const ranks = await outputRanks(float, twin.pairs.map((p) => p.floatOutput), opts.firstBatch, opts.knownRanks);
  const sums = addPairReductions(twin, ranks);
  timings.buildMs = performance.now() - t;
  const acc = new Map(sums.map((p) => [p.layer, new SensitivityAccumulator()]));
  return {
    model: twin.model,
    fetches: sums.flatMap((p) => [p.xx, p.yy, p.dd]),
    timings,
    take(out, batch) {
      for (const p of sums) {
        const xx = out[p.xx].data as Float32Array, yy = out[p.yy].data as Float32Array, dd = out[p.dd].data as Float32Array;
        const a = acc.get(p.layer)!;
        // one row per sample (padding rows left out); a tensor without a batch axis gives one row
        const rows = xx.length === batch.rows ? batch.indices.length : 1;
        for (let r = 0; r < rows; r++) a.add(xx[r], yy[r], dd[r], batch.indices[r]);
      }
    },
    result() {
      const byLayer = new Map<string, IsolatedSensitivity>();
      for (const [name, a] of acc) if (a.n > 0) byLayer.set(name, a.result());
      return { byLayer, failed: twin.failed, timings };
    },
  };
}

/** Isolated sensitivity of every layer in `layers`, from one twin-model inference per batch. */
export async function isolatedSensitivity(float: OnnxModel, quant: OnnxModel, layers: readonly QdqLayer[], opts: IsolatedOptions): Promise<IsolatedResult> {
  const pass = await prepareTwinPass(float, quant, layers, { firstBatch: firstBatch(opts.batches), knownRanks: opts.knownRanks });
  const { timings } = pass;
  // progress in samples
  const total = sampleCount(opts.batches);
  let done = 0;
  opts.onProgress?.(0, total);
  throwIfAborted(opts.signal);
  if (pass.fetches.length === 0) return pass.result();
  let t = performance.now();
  const session = await createSession(pass.model, { lowMemory: true });
  timings.sessionMs = performance.now() - t;
  t = performance.now();
  try {
    for await (const whole of opts.batches) {
      for (const batch of opts.rowsPerRun ? splitBatch(whole, opts.rowsPerRun) : [whole]) {
        throwIfAborted(opts.signal);
        pass.take(await runSession(session, batch.feeds, pass.fetches, 'twin'), batch);
      }
      done += whole.indices.length;
      opts.onProgress?.(done, total);
    }
  } finally {
    timings.runMs = performance.now() - t;
    await session.release();
  }
  return pass.result();
}
