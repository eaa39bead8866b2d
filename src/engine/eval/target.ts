// Is the quantized model good enough? Compares two accuracies against the
// tolerated drop, or the quantized model's similarity to the float model
// against its threshold, and says so in a sentence with both numbers.

import { DEFAULT_TARGET, formatSimilarity, higherIsBetter, similarityRelation, type AccuracyTarget, type TargetJudgement } from '../../shared/eval-types';

const pct = (v: number): string => `${v.toFixed(2)}%`;

export function judgeTarget(floatValue: number, quantValue: number, target: AccuracyTarget = DEFAULT_TARGET): TargetJudgement {
  if (target.mode === 'similarity') return judgeSimilarity(floatValue, quantValue, target);
  const drop = floatValue - quantValue;
  const allowed = target.mode === 'absolute' ? target.points : (floatValue * target.percent) / 100;
  // A hair of tolerance so 76.13 → 75.13 with a 1-point target is not failed by float rounding.
  const meets = drop <= allowed + 1e-9;
  const rule = target.mode === 'absolute' ? `${target.points} point(s)` : `${target.percent}% of ${pct(floatValue)} = ${allowed.toFixed(2)} point(s)`;
  const what = drop <= 0 ? `no drop (${(-drop).toFixed(2)} points better)` : `a drop of ${drop.toFixed(2)} points`;
  const message =
    `float ${pct(floatValue)}, quantized ${pct(quantValue)}: ${what}; allowed ${rule} — ` +
    (meets ? 'meets the target' : 'misses the target');
  return { meets, floatValue, quantValue, drop, allowed, target, message };
}

/**
 * A similarity target: the quantized model's score (every output against the float model's) must reach the
 * threshold in the metric's direction. drop and allowed are measured from the float model's own score, the
 * direction folded in, so that "drop ≤ allowed" reads the same as for accuracy (lower drop is better).
 */
function judgeSimilarity(floatValue: number, quantValue: number, target: Extract<AccuracyTarget, { mode: 'similarity' }>): TargetJudgement {
  const up = higherIsBetter(target.metric);
  const drop = up ? floatValue - quantValue : quantValue - floatValue;
  const allowed = up ? floatValue - target.threshold : target.threshold - floatValue;
  // relative tolerance: cosines near 1 and MSEs near 0 differ in their last bits only through rounding
  const meets = up ? quantValue >= target.threshold - 1e-12 * Math.abs(target.threshold) : quantValue <= target.threshold * (1 + 1e-12);
  const name = target.metric === 'sqnr' ? 'SQNR' : target.metric === 'mse' ? 'MSE' : 'cosine';
  const f = (v: number) => formatSimilarity(target.metric, v);
  const message =
    `${name} of every output to the float model's: quantized ${f(quantValue)}; target ${name} ${similarityRelation(target.metric)} ${f(target.threshold)} — ` +
    (meets ? 'meets the target' : 'misses the target');
  return { meets, floatValue, quantValue, drop, allowed, message };
}
