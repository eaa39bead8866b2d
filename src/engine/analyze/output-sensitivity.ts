// Output sensitivity (slower, optional): the model OUTPUT when only one layer
// is quantized, and when every layer but that one is (leave-one-out). Each
// needs its own model variant and inference, so it runs layers in the order
// given (most isolated-sensitive first) until a layer count or time budget
// is spent.
import type { OutputSensitivity } from '../../shared/analysis-types';
import { createSession, type OnnxModel } from '../onnx';
import { runSession } from './compare';
import { cosineFromSums } from '../eval/metrics';
import type { QdqLayer } from './qdq-layers';
import { numericData, sliceSamples, throwIfAborted, type SampleBatch } from './samples';
import { buildAllButLayer, buildOnlyLayerQuantized } from './variants';

export interface OutputSensitivityOptions {
  batches: readonly SampleBatch[];
  /** at most this many layers (default all) */
  maxLayers?: number;
  /** stop starting new layers after this many milliseconds (default 60 000) */
  timeBudgetMs?: number;
  /** also measure "only this layer quantized" (default true) */
  onlyThis?: boolean;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface OutputSensitivityResult {
  /** output cosine of the fully quantized model on the same samples */
  quantCosine: number;
  byLayer: Map<string, OutputSensitivity>;
  /** layers not measured because the budget ran out */
  skipped: string[];
}

type Outputs = { name: string; data: ArrayLike<number>; dims: readonly number[] }[][];

async function runOutputs(model: OnnxModel, batches: readonly SampleBatch[], role: string, signal?: AbortSignal): Promise<Outputs> {
  const session = await createSession(model);
  try {
    const out: Outputs = [];
    for (const b of batches) {
      throwIfAborted(signal);
      const r = await runSession(session, b.feeds, [...session.outputNames], role);
      out.push(session.outputNames.map((name) => ({ name, data: numericData(r[name]) ?? [], dims: r[name].dims })));
    }
    return out;
  } finally {
    await session.release();
  }
}

interface Score {
  /** mean over the outputs of each output's mean cosine over samples (every output counts alike) */
  cosine: number;
  /** mean over the 2-D outputs of their top-1 agreement (percent) */
  top1?: number;
  perOutput: { name: string; cosine: number; top1?: number }[];
}

/** Each output's mean cosine over samples to the float output (and top-1 agreement of 2-D outputs), and their means. */
function score(ref: Outputs, got: Outputs, batches: readonly SampleBatch[]): Score {
  const names = ref[0]?.map((o) => o.name) ?? [];
  const sums = names.map(() => ({ cos: 0, n: 0, agree: 0, rows: 0 }));
  batches.forEach((b, bi) => {
    ref[bi].forEach((r, oi) => {
      const g = got[bi][oi];
      const acc = sums[oi];
      const rs = sliceSamples(r.data, r.dims, b), gs = sliceSamples(g.data, g.dims, b);
      for (let s = 0; s < rs.length; s++) {
        const x = gs[s].data, y = rs[s].data;
        let dot = 0, xx = 0, yy = 0, ax = 0, ay = 0;
        for (let i = 0; i < y.length; i++) {
          dot += x[i] * y[i]; xx += x[i] * x[i]; yy += y[i] * y[i];
          if (x[i] > x[ax]) ax = i;
          if (y[i] > y[ay]) ay = i;
        }
        const c = cosineFromSums(dot, xx, yy);
        if (!Number.isNaN(c)) { acc.cos += c; acc.n++; }
        if (r.dims.length === 2) { acc.rows++; if (ax === ay) acc.agree++; }
      }
    });
  });
  const perOutput = names.map((name, oi) => {
    const a = sums[oi];
    return { name, cosine: a.n ? a.cos / a.n : NaN, ...(a.rows ? { top1: (100 * a.agree) / a.rows } : {}) };
  });
  const mean = (v: number[]) => (v.length ? v.reduce((x, y) => x + y, 0) / v.length : NaN);
  const top1s = perOutput.flatMap((o) => (o.top1 === undefined ? [] : [o.top1]));
  return { cosine: mean(perOutput.map((o) => o.cosine).filter((c) => !Number.isNaN(c))), ...(top1s.length ? { top1: mean(top1s) } : {}), perOutput };
}

export async function outputSensitivity(float: OnnxModel, quant: OnnxModel, layers: readonly QdqLayer[], opts: OutputSensitivityOptions): Promise<OutputSensitivityResult> {
  const start = Date.now();
  const budget = opts.timeBudgetMs ?? 60_000;
  const todo = layers.slice(0, opts.maxLayers ?? layers.length);
  const total = todo.length + 2;
  let done = 0;
  opts.onProgress?.(0, total);
  const ref = await runOutputs(float, opts.batches, 'float', opts.signal);
  opts.onProgress?.(++done, total);
  const quantCosine = score(ref, await runOutputs(quant, opts.batches, 'quantized', opts.signal), opts.batches).cosine;
  opts.onProgress?.(++done, total);
  const byLayer = new Map<string, OutputSensitivity>();
  const skipped: string[] = [];
  for (const layer of todo) {
    throwIfAborted(opts.signal);
    if (Date.now() - start > budget) { skipped.push(layer.name); continue; }
    const loo = score(ref, await runOutputs(buildAllButLayer(float, quant, layer), opts.batches, `all-but-'${layer.name}'`, opts.signal), opts.batches);
    const gain = loo.cosine - quantCosine;
    const entry: OutputSensitivity = { allButThisCosine: loo.cosine, gainIfSkipped: gain };
    if (1 - quantCosine > 0) entry.errorShareIfSkipped = gain / (1 - quantCosine);
    if (loo.top1 !== undefined) entry.allButThisTop1Agreement = loo.top1;
    const only = opts.onlyThis !== false
      ? score(ref, await runOutputs(buildOnlyLayerQuantized(float, quant, layer), opts.batches, `only-'${layer.name}'`, opts.signal), opts.batches)
      : undefined;
    if (only) entry.onlyThisCosine = only.cosine;
    // a model with several outputs: what the layer does to each of them, not only to their mean
    if (loo.perOutput.length > 1) {
      entry.perOutput = loo.perOutput.map((o, i) => ({
        name: o.name,
        allButThisCosine: o.cosine,
        ...(only ? { onlyThisCosine: only.perOutput[i].cosine } : {}),
        ...(o.top1 !== undefined ? { allButThisTop1Agreement: o.top1 } : {}),
      }));
    }
    byLayer.set(layer.name, entry);
    opts.onProgress?.(++done, total);
  }
  for (const l of layers.slice(todo.length)) skipped.push(l.name);
  return { quantCosine, byLayer, skipped };
}
