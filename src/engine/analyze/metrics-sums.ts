// What the two implementations of the tensor comparison (the element-by-element
// definition in metrics-scalar.ts, the float32 kernel in metrics-kernel.ts)
// share: the checks before, and the metrics of spec §7 from their sums after.
import { QtuneError } from '../../shared/errors';
import type { TensorMetrics } from '../../shared/analysis-types';
import { cosineFromSums, EPS, sqnrFromSums } from '../eval/metrics';

/** Floor of the normalised values in the KL divergence (float32 epsilon). */
export const KL_FLOOR = 1.1920929e-7;

export type Num = ArrayLike<number>;

export function checkLengths(x: Num, y: Num): void {
  if (x.length !== y.length) {
    throw new QtuneError('analyze_shape', `cannot compare tensors of ${x.length} and ${y.length} elements`);
  }
}

/**
 * The sums of the two passes over n values (x quantized, y float). First pass: Σxy, Σx², Σy², Σ(x−y)²,
 * Σ|x−y|, max |x−y|, Σ and max of |x/y − 1| over |y| > EPS, the means. Second: Σ(x − x̄)², Σ(y − ȳ)², and
 * the KL divergence's P = Σp', Q = Σq', D = Σ(q' − p'), A = Σ p'·ln(p'/q'), E = Σ (p'·ln(p'/q') + q' − p')
 * over the unscaled normalised values p', q' (see klFromSums).
 */
export interface MetricSums {
  n: number;
  dot: number; xx: number; yy: number; dd: number;
  sumAbs: number; maxAbs: number; sumRel: number; maxRel: number;
  xMean: number; yMean: number; vx: number; vy: number;
  P: number; Q: number; D: number; E: number; A: number;
}

export function metricsFromSums(s: MetricSums): TensorMetrics {
  const { n, yy, dd } = s;
  return {
    CosineSimilarity: cosineFromSums(s.dot, s.xx, yy),
    MaxAbsoluteError: s.maxAbs,
    AccumulatedRelativeError: s.sumRel,
    RelativeEuclideanDistance: yy <= EPS ? 0 : Math.sqrt(dd / yy),
    KullbackLeiblerDivergence: n > 0 ? klFromSums(s) : 0,
    MeanAbsoluteError: n > 0 ? s.sumAbs / n : 0,
    RootMeanSquareError: n > 0 ? Math.sqrt(dd / n) : 0,
    MaxRelativeError: s.maxRel,
    MeanRelativeError: n > 0 ? s.sumRel / n : 0,
    SQNR: sqnrFromSums(yy, dd),
    quantMean: s.xMean,
    quantStd: n > 0 ? Math.sqrt(s.vx / n) : 0,
    floatMean: s.yMean,
    floatStd: n > 0 ? Math.sqrt(s.vy / n) : 0,
  };
}

/**
 * Σ (p'/P)·ln((p'/P)/(q'/Q)) = A/P + ln(Q/P), or with u = D/P = Q/P − 1 as well E/P + (ln(1 + u) − u).
 * Which form depends on how far P and Q are apart, for the rounding of what cancels. Where they are close
 * (|u| ≤ 1/2, the usual case: the two sides alike), a small divergence is the small difference of A/P and
 * ln(Q/P), each of the size of u, and P and Q summed apart would lose 1e-10 of it; E's terms are each ≥ 0
 * up to rounding (ln r + 1/r − 1 ≥ 0) and D is summed directly, so the second form is as exact as its sums.
 * Where they are far apart (a side of mostly floored values), E/P and u are huge and cancel instead, while
 * A/P and ln(Q/P) stay of the size of ln(Q/P): the first form, which still magnifies the rounding of P, Q
 * and A by ln(Q/P)/KL (some hundreds), so both implementations sum those three with compensation and the
 * result does not depend on the order of summation.
 */
export function klFromSums(s: Pick<MetricSums, 'P' | 'Q' | 'D' | 'E' | 'A'>): number {
  const u = s.D / s.P;
  return Math.abs(u) <= 0.5 ? s.E / s.P + (Math.log1p(u) - u) : s.A / s.P + Math.log(s.Q / s.P);
}

/** x with a Relu applied as onnxruntime's does (v < 0 ? 0 : v: NaN and −0 kept), for the element-by-element path. */
export function reluOf(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => (v < 0 ? 0 : v));
}

/** Mean from a sum over n values (0 for no values). */
export function meanOf(sum: number, n: number): number {
  return n > 0 ? sum / n : 0;
}
