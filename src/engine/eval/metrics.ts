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

const EPS = 2.22e-16;

/**
 * Cosine similarity of x and y. Both all-zero → 1 (they agree); one all-zero
 * → 0 (for a fidelity score, a dead output is total disagreement).
 */
export function cosine(x: ArrayLike<number>, y: ArrayLike<number>, offset = 0, length = x.length): number {
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let i = offset; i < offset + length; i++) {
    xy += x[i] * y[i];
    xx += x[i] * x[i];
    yy += y[i] * y[i];
  }
  const nx = Math.sqrt(xx);
  const ny = Math.sqrt(yy);
  if (nx <= EPS && ny <= EPS) return 1;
  if (nx <= EPS || ny <= EPS) return 0;
  return Math.min(xy / (nx * ny), 1);
}

/** SQNR in dB of `x` against the reference `y`: 20·log10(‖y‖ / ‖x − y‖), capped at SQNR_CAP_DB for identical outputs. */
export function sqnrDb(x: ArrayLike<number>, y: ArrayLike<number>, offset = 0, length = x.length): number {
  let signal = 0;
  let noise = 0;
  for (let i = offset; i < offset + length; i++) {
    signal += y[i] * y[i];
    const d = x[i] - y[i];
    noise += d * d;
  }
  if (noise <= EPS * EPS) return SQNR_CAP_DB;
  if (signal <= EPS * EPS) return -SQNR_CAP_DB;
  return Math.min(SQNR_CAP_DB, 10 * Math.log10(signal / noise));
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
