// The tensor comparison metrics of spec §7, element by element, as defined:
// the reference the float32 kernel (metrics-kernel.ts) is tested against, and
// the path for data that is not float32. Sums run in float64; everything but
// the KL divergence and the standard deviations comes from one pass, and those
// two need the first pass's min/max and means, so they share a second.
import { EPS } from '../eval/metrics';
import type { TensorMetrics } from '../../shared/analysis-types';
import { checkLengths, KL_FLOOR, meanOf, metricsFromSums, type Num } from './metrics-sums';

/**
 * ln(p/q) for p, q > 0. Near 1 (most of a tensor: quantization error is small) by the series
 * ln r = 2·atanh(s) = 2(s + s³/3 + … + s¹³/13), s = (p − q)/(p + q), |s| < 1/16: its remainder is below
 * 1e-18 of the result, and p − q is exact there, so it is as close as Math.log, at a fraction of the cost.
 */
export function lnRatio(p: number, q: number): number {
  const s = (p - q) / (p + q);
  if (!(Math.abs(s) < 0.0625)) return Math.log(p / q);
  const s2 = s * s;
  return 2 * s * (1 + s2 * (1 / 3 + s2 * (1 / 5 + s2 * (1 / 7 + s2 * (1 / 9 + s2 * (1 / 11 + s2 / 13))))));
}

/** Values per block of the plain sums: the kernel's chunk. */
const BLOCK = 32768;

/** What rounding lost in t = s + v (Neumaier). */
function lost(s: number, v: number, t: number): number {
  return Math.abs(s) >= Math.abs(v) ? (s - t) + v : (v - t) + s;
}

/** All metrics of one x/y pair (both flattened, same length), one element at a time. */
export function compareTensorsScalar(x: Num, y: Num): TensorMetrics {
  checkLengths(x, y);
  // module constants as locals: an imported binding is read anew at every use, which halves this loop's speed
  const eps = EPS, floor = KL_FLOOR;
  const n = x.length;
  let dot = 0, xx = 0, yy = 0, dd = 0, sumAbs = 0, maxAbs = 0;
  let sumRel = 0, maxRel = 0, sx = 0, sy = 0;
  let xMin = Infinity, xMax = -Infinity, yMin = Infinity, yMax = -Infinity;
  // the plain sums run block by block (BLOCK values), as the kernel's run chunk by chunk: a running sum of a
  // million values loses about 1e-12 of itself to rounding, a sum of block sums a few times less
  for (let start = 0; start < n; start += BLOCK) {
    const end = Math.min(n, start + BLOCK);
    let bDot = 0, bXx = 0, bYy = 0, bDd = 0, bAbs = 0, bRel = 0, bSx = 0, bSy = 0;
    for (let i = start; i < end; i++) {
      const a = x[i], b = y[i];
      const d = a - b;
      const ad = Math.abs(d);
      bDot += a * b; bXx += a * a; bYy += b * b; bDd += d * d;
      bAbs += ad;
      if (ad > maxAbs) maxAbs = ad;
      if (Math.abs(b) > eps) {
        const r = Math.abs(a / b - 1);
        bRel += r;
        if (r > maxRel) maxRel = r;
      }
      bSx += a; bSy += b;
      if (a < xMin) xMin = a;
      if (a > xMax) xMax = a;
      if (b < yMin) yMin = b;
      if (b > yMax) yMax = b;
    }
    dot += bDot; xx += bXx; yy += bYy; dd += bDd; sumAbs += bAbs; sumRel += bRel; sx += bSx; sy += bSy;
  }
  const xMean = meanOf(sx, n);
  const yMean = meanOf(sy, n);
  // second pass: spreads about the means (no cancellation) and the KL divergence
  let vx = 0, vy = 0;
  // KL divergence Σ p·ln(p/q), p from x: each side min-max normalised to [0, 1], floored at float32 epsilon,
  // then scaled to sum 1; from sums over the unscaled p', q' (klFromSums) so the same pass gives it once the
  // ranges are known
  const xr = xMax - xMin, yr = yMax - yMin;
  // P, Q and A with Neumaier's compensation (cP, cQ, cA: what their rounding lost): see klFromSums
  let P = 0, Q = 0, D = 0, E = 0, A = 0, cP = 0, cQ = 0, cA = 0;
  for (let start = 0; start < n; start += BLOCK) {
    const end = Math.min(n, start + BLOCK);
    let bVx = 0, bVy = 0, bD = 0, bE = 0;
    for (let i = start; i < end; i++) {
      const a = x[i], b = y[i];
      const ca = a - xMean, cb = b - yMean;
      bVx += ca * ca; bVy += cb * cb;
      const p = Math.max(xr > 0 ? (a - xMin) / xr : 0, floor);
      const q = Math.max(yr > 0 ? (b - yMin) / yr : 0, floor);
      let t = P + p;
      cP += lost(P, p, t);
      P = t;
      t = Q + q;
      cQ += lost(Q, q, t);
      Q = t;
      // p = q adds nothing (most of a ReLU output's zeros): no logarithm needed
      if (p !== q) {
        const pl = p * lnRatio(p, q), d = q - p;
        t = A + pl;
        cA += lost(A, pl, t);
        A = t;
        bD += d;
        bE += pl + d;
      }
    }
    vx += bVx; vy += bVy; D += bD; E += bE;
  }
  return metricsFromSums({ n, dot, xx, yy, dd, sumAbs, maxAbs, sumRel, maxRel, xMean, yMean, vx, vy, P: P + cP, Q: Q + cQ, D, E, A: A + cA });
}
