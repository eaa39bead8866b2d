// The eleven tensor comparison metrics of the documented accuracy comparison
// (spec §7). x is the quantized side, y the float side. Sums run in float64
// over float32 data; everything but the KL divergence and the standard
// deviations comes from one pass, and those two need the first pass's
// min/max and means, so they share a second. On a real-size model these two
// passes over every activation cost more than the inferences themselves: the
// loops stay lean (one logarithm per value at most, a short series where p is
// near q, nothing where they are equal).
import { QtuneError } from '../../shared/errors';
import type { TensorMetrics } from '../../shared/analysis-types';
import { cosineFromSums, EPS, sqnrFromSums } from '../eval/metrics';

/** Floor of the normalised values in the KL divergence (float32 epsilon). */
export const KL_FLOOR = 1.1920929e-7;

type Num = ArrayLike<number>;

function checkLengths(x: Num, y: Num): void {
  if (x.length !== y.length) {
    throw new QtuneError('analyze_shape', `cannot compare tensors of ${x.length} and ${y.length} elements`);
  }
}

/**
 * ln(p/q) for p, q > 0. Near 1 (most of a tensor: quantization error is small) by the series
 * ln r = 2·atanh(s) = 2(s + s³/3 + … + s¹³/13), s = (p − q)/(p + q), |s| < 1/16: its remainder is below
 * 1e-18 of the result, and p − q is exact there, so it is as close as Math.log, at a fraction of the cost
 * (this is called for every value of every compared tensor).
 */
export function lnRatio(p: number, q: number): number {
  const s = (p - q) / (p + q);
  if (!(Math.abs(s) < 0.0625)) return Math.log(p / q);
  const s2 = s * s;
  return 2 * s * (1 + s2 * (1 / 3 + s2 * (1 / 5 + s2 * (1 / 7 + s2 * (1 / 9 + s2 * (1 / 11 + s2 / 13))))));
}

/** All metrics of one x/y pair (both flattened, same length). */
export function compareTensors(x: Num, y: Num): TensorMetrics {
  checkLengths(x, y);
  const n = x.length;
  let dot = 0, xx = 0, yy = 0, dd = 0, sumAbs = 0, maxAbs = 0;
  let sumRel = 0, maxRel = 0, sx = 0, sy = 0;
  let xMin = Infinity, xMax = -Infinity, yMin = Infinity, yMax = -Infinity;
  for (let i = 0; i < n; i++) {
    const a = x[i], b = y[i];
    const d = a - b;
    const ad = Math.abs(d);
    dot += a * b; xx += a * a; yy += b * b; dd += d * d;
    sumAbs += ad;
    if (ad > maxAbs) maxAbs = ad;
    if (Math.abs(b) > EPS) {
      const r = Math.abs(a / b - 1);
      sumRel += r;
      if (r > maxRel) maxRel = r;
    }
    sx += a; sy += b;
    if (a < xMin) xMin = a;
    if (a > xMax) xMax = a;
    if (b < yMin) yMin = b;
    if (b > yMax) yMax = b;
  }
  const xMean = n > 0 ? sx / n : 0;
  const yMean = n > 0 ? sy / n : 0;
  // second pass: spreads about the means (no cancellation) and the KL divergence
  let vx = 0, vy = 0;
  // KL divergence Σ p·ln(p/q), p from x: each side min-max normalised to [0, 1], floored at float32 epsilon,
  // then scaled to sum 1; written as (1/P)·Σ p'·ln(p'/q') + ln(Q/P) over the unscaled p', q' so the same pass
  // gives it once the ranges are known
  const xr = xMax - xMin, yr = yMax - yMin;
  let P = 0, Q = 0, A = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i], b = y[i];
    const ca = a - xMean, cb = b - yMean;
    vx += ca * ca; vy += cb * cb;
    const p = Math.max(xr > 0 ? (a - xMin) / xr : 0, KL_FLOOR);
    const q = Math.max(yr > 0 ? (b - yMin) / yr : 0, KL_FLOOR);
    P += p; Q += q;
    // p = q adds p·ln 1 = 0 (most of a ReLU output's zeros): no logarithm needed
    if (p !== q) A += p * lnRatio(p, q);
  }
  const kl = n > 0 ? A / P + Math.log(Q / P) : 0;
  return {
    CosineSimilarity: cosineFromSums(dot, xx, yy),
    MaxAbsoluteError: maxAbs,
    AccumulatedRelativeError: sumRel,
    RelativeEuclideanDistance: yy <= EPS ? 0 : Math.sqrt(dd / yy),
    KullbackLeiblerDivergence: kl,
    MeanAbsoluteError: n > 0 ? sumAbs / n : 0,
    RootMeanSquareError: n > 0 ? Math.sqrt(dd / n) : 0,
    MaxRelativeError: maxRel,
    MeanRelativeError: n > 0 ? sumRel / n : 0,
    SQNR: sqnrFromSums(yy, dd),
    quantMean: xMean,
    quantStd: n > 0 ? Math.sqrt(vx / n) : 0,
    floatMean: yMean,
    floatStd: n > 0 ? Math.sqrt(vy / n) : 0,
  };
}
