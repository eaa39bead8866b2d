// Helpers for the streaming IFMR tests (not used by the app): the plain
// per-value loss, long-tailed activations, and a summary pass in JavaScript.
import { seededRandom } from '../../shared/seeded-random';
import { binOf, quantizerFor, type IfmrParams } from './ifmr';
import { MergedHistogram } from './merged-histogram';
import { ExtremeKeeper, type TensorSummary } from './streaming-ifmr';

/** Σ (Q(x) − x)² the plain way. */
export function plainLoss(values: Float32Array, ratio: number, maxInit: number, minInit: number, p: IfmrParams): number {
  const q = quantizerFor(ratio, maxInit, minInit, p);
  let sum = 0;
  for (const x of values) {
    const d = binOf(x, q) * q.s - x;
    sum += d * d;
  }
  return sum;
}

export function minMax(v: Float32Array): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const x of v) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}

/** Long-tailed, ReLU-like values: many zeros, a dense bulk, a few outliers. */
export function activations(n: number, seed: number): Float32Array {
  const rnd = seededRandom(seed);
  return Float32Array.from({ length: n }, () => {
    const u = rnd();
    if (u < 0.4) return 0;
    const g = -Math.log(1 - rnd()) * 0.8;
    return u > 0.9995 ? g * 9 : g;
  });
}

/** Streams `batches` through the keepers and histogram as calibration does (every value arrives). */
export function summarize(batches: Float32Array[], k: number): TensorSummary {
  const s: TensorSummary = { count: 0, min: Infinity, max: -Infinity, top: new ExtremeKeeper(k, true), bottom: new ExtremeKeeper(k, false), histogram: new MergedHistogram() };
  for (const b of batches) {
    const [lo, hi] = minMax(b);
    s.min = Math.min(s.min, lo);
    s.max = Math.max(s.max, hi);
    s.top.add(b, -Infinity);
    s.bottom.add(b, Infinity);
    s.histogram.add(b, lo, hi);
    s.count += b.length;
  }
  return s;
}
