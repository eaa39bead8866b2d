// Per-sample numbers the evaluators are built from: top-k, margin, cosine, SQNR.

import { SQNR_CAP_DB } from '../../shared/eval-types';

export interface TopResult {
  prediction: number;
  /** top-1 score minus top-2 score */
  margin: number;
}

/** Argmax of one sample's scores, and how far ahead it is of the runner-up. */
export function top1(scores: ArrayLike<number>, offset = 0, length = scores.length): TopResult {
  let best = -Infinity;
  let second = -Infinity;
  let prediction = 0;
  for (let i = 0; i < length; i++) {
    const v = scores[offset + i];
    if (v > best) {
      second = best;
      best = v;
      prediction = i;
    } else if (v > second) second = v;
  }
  return { prediction, margin: length > 1 ? best - second : NaN };
}

/** Whether `label` is among the k highest scores (ties count against the label, as in torch.topk order). */
export function inTopK(scores: ArrayLike<number>, offset: number, length: number, label: number, k: number): boolean {
  const target = scores[offset + label];
  let above = 0;
  for (let i = 0; i < length; i++) {
    const v = scores[offset + i];
    if (v > target || (v === target && i < label)) above++;
    if (above >= k) return false;
  }
  return true;
}

/** Norms and |y| at or below this count as zero (double epsilon, as the documented comparison uses: spec §7). */
export const EPS = 2.22e-16;

/**
 * Cosine similarity from the sums x·y, x·x, y·y (spec §7): 1 when both sides
 * are all zero, NaN when only one is (undefined: the caller decides what a
 * dead side means), capped at 1.
 */
export function cosineFromSums(dot: number, xx: number, yy: number): number {
  const nx = Math.sqrt(xx);
  const ny = Math.sqrt(yy);
  const zero = zeroCaseCosine(nx, ny);
  if (zero !== undefined) return zero;
  // sqrt(xx·yy) rather than ‖x‖·‖y‖: identical tensors then give exactly 1
  const p = xx * yy;
  const denom = Number.isFinite(p) && p > 0 ? Math.sqrt(p) : nx * ny;
  return Math.min(dot / denom, 1);
}

/**
 * The same cosine from ‖x‖², ‖y‖², ‖x−y‖² (what in-graph reductions give):
 * 1 − (‖x−y‖² − (‖x‖−‖y‖)²) / (2‖x‖‖y‖) keeps 1 − cos precise when it is tiny.
 */
export function cosineFromDiff(xx: number, yy: number, dd: number): number {
  const nx = Math.sqrt(xx);
  const ny = Math.sqrt(yy);
  const zero = zeroCaseCosine(nx, ny);
  if (zero !== undefined) return zero;
  return Math.min(1 - (dd - (nx - ny) ** 2) / (2 * nx * ny), 1);
}

/** The cosine when a side is all zero (spec §7): 1 when both are, NaN when only one is; undefined when neither is. */
function zeroCaseCosine(nx: number, ny: number): number | undefined {
  if (nx <= EPS && ny <= EPS) return 1;
  if (nx <= EPS || ny <= EPS) return NaN;
  return undefined;
}

/** 20·log10(‖y‖ / ‖x − y‖) from the squared norms ‖y‖², ‖x − y‖²: +Infinity when x equals y, −Infinity when y alone is zero. */
export function sqnrFromSums(yy: number, dd: number): number {
  if (dd === 0) return Infinity;
  return 10 * Math.log10(yy / dd);
}

/** Cosine similarity of x and y (`length` values from `offset`): see cosineFromSums. */
export function cosine(x: ArrayLike<number>, y: ArrayLike<number>, offset = 0, length = x.length): number {
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let i = offset; i < offset + length; i++) {
    xy += x[i] * y[i];
    xx += x[i] * x[i];
    yy += y[i] * y[i];
  }
  return cosineFromSums(xy, xx, yy);
}

/** SQNR in dB of `x` against the reference `y` (`length` values from `offset`): see sqnrFromSums. */
export function sqnrDb(x: ArrayLike<number>, y: ArrayLike<number>, offset = 0, length = x.length): number {
  let yy = 0;
  let dd = 0;
  for (let i = offset; i < offset + length; i++) {
    yy += y[i] * y[i];
    const d = x[i] - y[i];
    dd += d * d;
  }
  return sqnrFromSums(yy, dd);
}

/**
 * A sample's cosine and SQNR as a fidelity score, which is averaged over
 * samples and so must be finite: a dead output (one side all zero) is total
 * disagreement (cosine 0), and SQNR is held within ±SQNR_CAP_DB (identical
 * outputs count as SQNR_CAP_DB).
 */
export function fidelityScore(cos: number, sqnr: number): { cosine: number; sqnrDb: number } {
  return { cosine: Number.isNaN(cos) ? 0 : cos, sqnrDb: Math.max(-SQNR_CAP_DB, Math.min(SQNR_CAP_DB, sqnr)) };
}

/** Mean squared difference of x and the reference y. */
export function mse(x: ArrayLike<number>, y: ArrayLike<number>, offset = 0, length = x.length): number {
  let sum = 0;
  for (let i = offset; i < offset + length; i++) {
    const d = x[i] - y[i];
    sum += d * d;
  }
  return length > 0 ? sum / length : 0;
}
