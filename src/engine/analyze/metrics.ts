// The eleven tensor comparison metrics of the documented accuracy comparison
// (spec §7). x is the quantized side, y the float side. Sums run in float64
// over float32 data; everything but the KL divergence and the standard
// deviations comes from one pass, and those two need the first pass's
// min/max and means, so they take a second.
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
 * KL divergence Σ p·ln(p/q), p from x: each side min-max normalised to
 * [0, 1], floored at float32 epsilon, then scaled to sum 1. Written as
 * (1/P)·Σ p'(ln p' − ln q') + ln(Q/P) over the unscaled p', q' so it takes one
 * pass once the ranges are known.
 */
function klDivergence(x: Num, y: Num, xMin: number, xMax: number, yMin: number, yMax: number): number {
  const n = x.length;
  if (n === 0) return 0;
  const xr = xMax - xMin, yr = yMax - yMin;
  let P = 0, Q = 0, A = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.max(xr > 0 ? (x[i] - xMin) / xr : 0, KL_FLOOR);
    const q = Math.max(yr > 0 ? (y[i] - yMin) / yr : 0, KL_FLOOR);
    P += p; Q += q;
    A += p * (Math.log(p) - Math.log(q));
  }
  return A / P + Math.log(Q / P);
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
  for (let i = 0; i < n; i++) {
    const a = x[i] - xMean, b = y[i] - yMean;
    vx += a * a; vy += b * b;
  }
  return {
    CosineSimilarity: cosineFromSums(dot, xx, yy),
    MaxAbsoluteError: maxAbs,
    AccumulatedRelativeError: sumRel,
    RelativeEuclideanDistance: yy <= EPS ? 0 : Math.sqrt(dd / yy),
    KullbackLeiblerDivergence: klDivergence(x, y, xMin, xMax, yMin, yMax),
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
