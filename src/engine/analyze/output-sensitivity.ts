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

/** Mean over samples and outputs of the cosine to the float outputs, and top-1 agreement of 2-D outputs (percent). */
function score(ref: Outputs, got: Outputs, batches: readonly SampleBatch[]): { cosine: number; top1?: number } {
  let cos = 0, n = 0, agree = 0, rows = 0;
  batches.forEach((b, bi) => {
    ref[bi].forEach((r, oi) => {
      const g = got[bi][oi];
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
        if (!Number.isNaN(c)) { cos += c; n++; }
        if (oi === 0 && r.dims.length === 2) { rows++; if (ax === ay) agree++; }
      }
    });
  });
  return { cosine: n ? cos / n : NaN, ...(rows ? { top1: (100 * agree) / rows } : {}) };
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
    if (opts.onlyThis !== false) {
      entry.onlyThisCosine = score(ref, await runOutputs(buildOnlyLayerQuantized(float, quant, layer), opts.batches, `only-'${layer.name}'`, opts.signal), opts.batches).cosine;
    }
    byLayer.set(layer.name, entry);
    opts.onProgress?.(++done, total);
  }
  for (const l of layers.slice(todo.length)) skipped.push(l.name);
  return { quantCosine, byLayer, skipped };
}
