// Isolated sensitivity (AMCT's per-layer sensitivity): each quantized layer
// alone, fed the FLOAT input, against the float layer. One inference of the
// twin model (see variants.ts) gives every float output next to its twin.
import type { IsolatedSensitivity } from '../../shared/analysis-types';
import { createSession, exposeTensors, type OnnxModel } from '../onnx';
import { runSession } from './compare';
import { cosineFromSums, EPS, sqnrFromSums } from './metrics';
import type { QdqLayer } from './qdq-layers';
import { numericData, sliceSamples, throwIfAborted, type SampleBatch } from './samples';
import { buildTwinModel } from './variants';

/** 0.5 + 0.5·cos; 1 when the float output is all zero, 0 when only the quantized one is. */
export function sensitivityFromSums(dot: number, xx: number, yy: number): number {
  if (Math.sqrt(yy) <= EPS) return 1;
  if (Math.sqrt(xx) <= EPS) return 0;
  return 0.5 + 0.5 * cosineFromSums(dot, xx, yy);
}

export interface IsolatedOptions {
  batches: readonly SampleBatch[];
  /** layer pairs (float + twin output) exposed per inference (default: all) */
  maxLayersPerRun?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface IsolatedResult {
  byLayer: Map<string, IsolatedSensitivity>;
  failed: { layer: string; message: string }[];
}

class SensitivityAccumulator {
  sum = 0; n = 0; worst = Infinity; worstSample = -1;
  cosSum = 0; cosN = 0; sqnrSum = 0; sqnrN = 0; sqnrInf = 0;

  add(x: ArrayLike<number>, y: ArrayLike<number>, sample: number): void {
    let dot = 0, xx = 0, yy = 0, dd = 0;
    for (let i = 0; i < x.length; i++) {
      const a = x[i], b = y[i], d = a - b;
      dot += a * b; xx += a * a; yy += b * b; dd += d * d;
    }
    const s = sensitivityFromSums(dot, xx, yy);
    this.sum += s; this.n++;
    if (s < this.worst) { this.worst = s; this.worstSample = sample; }
    const c = cosineFromSums(dot, xx, yy);
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

/** Isolated sensitivity of every layer in `layers`, from twin-model inferences. */
export async function isolatedSensitivity(float: OnnxModel, quant: OnnxModel, layers: readonly QdqLayer[], opts: IsolatedOptions): Promise<IsolatedResult> {
  const twin = buildTwinModel(float, quant, layers);
  const per = Math.max(1, opts.maxLayersPerRun ?? twin.pairs.length);
  const chunks: (typeof twin.pairs)[] = [];
  for (let i = 0; i < twin.pairs.length; i += per) chunks.push(twin.pairs.slice(i, i + per));
  const acc = new Map(twin.pairs.map((p) => [p.layer.name, new SensitivityAccumulator()]));
  const total = chunks.length * opts.batches.length;
  let done = 0;
  opts.onProgress?.(0, total);
  for (const chunk of chunks) {
    throwIfAborted(opts.signal);
    const fetches = [...new Set(chunk.flatMap((p) => [p.floatOutput, p.twinOutput]))];
    const session = await createSession(exposeTensors(twin.model, fetches));
    try {
      for (const batch of opts.batches) {
        throwIfAborted(opts.signal);
        const out = await runSession(session, batch.feeds, fetches, 'twin');
        for (const p of chunk) {
          const ft = out[p.floatOutput], qt = out[p.twinOutput];
          const fd = numericData(ft), qd = numericData(qt);
          if (!fd || !qd || fd.length !== qd.length) continue;
          const fsl = sliceSamples(fd, ft.dims, batch), qsl = sliceSamples(qd, qt.dims, batch);
          const a = acc.get(p.layer.name)!;
          for (let s = 0; s < fsl.length; s++) a.add(qsl[s].data, fsl[s].data, fsl[s].sample);
        }
        opts.onProgress?.(++done, total);
      }
    } finally {
      await session.release();
    }
  }
  const byLayer = new Map<string, IsolatedSensitivity>();
  for (const [name, a] of acc) if (a.n > 0) byLayer.set(name, a.result());
  return { byLayer, failed: twin.failed };
}
