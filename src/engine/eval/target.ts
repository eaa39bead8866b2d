// Is the quantized model good enough? Compares two accuracies against the
// tolerated drop and says so in a sentence with both numbers.

import { DEFAULT_TARGET, type AccuracyTarget, type TargetJudgement } from '../../shared/eval-types';

const pct = (v: number): string => `${v.toFixed(2)}%`;

export function judgeTarget(floatValue: number, quantValue: number, target: AccuracyTarget = DEFAULT_TARGET): TargetJudgement {
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
