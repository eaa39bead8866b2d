// The one-line verdict of a tuning, from its trials: the target met with which
// layers in float, or, once it ended without, the documented verdict (the
// model is not suitable for quantization). Shared so the engine and the
// backend word it the same.

import { formatSimilarity } from './eval-types';
import type { TuneStop, TuneSummary } from './tune-types';

/** A few names, and how many more. */
export const nameList = (names: string[]) => (names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`);

export function tuneVerdict(summary: Pick<TuneSummary, 'trials' | 'best' | 'status'> & Partial<Pick<TuneSummary, 'target'>>): string {
  const best = summary.trials.find((t) => t.index === summary.best);
  if (!best) return 'no trial finished';
  const tuned = best.tuned.length ? `; re-quantized with other parameters: ${best.tuned.map((t) => `${t.layer} (${t.change})`).join(', ')}` : '';
  const target = summary.target;
  // a similarity target's figure is the int8 model's own score against the float model (the float model scores the ideal)
  const figures =
    target?.mode === 'similarity'
      ? `int8 ${target.metric} ${formatSimilarity(target.metric, best.value)}`
      : `int8 ${best.value.toFixed(2)} vs float ${best.floatValue.toFixed(2)} (drop ${best.drop.toFixed(2)})`;
  if (best.meets) {
    const n = best.floatLayers.length;
    return `${summary.status === 'running' ? 'so far: ' : ''}meets the target with ${n === 0 ? 'every layer in int8' : `${n} layer${n > 1 ? 's' : ''} in float: ${nameList(best.floatLayers)}`}: ${figures}, trial ${best.index}${tuned}`;
  }
  if (summary.status === 'running') return `so far no trial meets the target (closest: trial ${best.index}, ${figures})`;
  return `not suitable for quantization: no configuration tried met the target (closest: trial ${best.index}, ${figures}); keep the model in float, or revisit the target and the calibration data`;
}

/** Why a tuning ended, in English (the CLI's words and `stopReason`). */
export function tuneStopText(stop: TuneStop): string {
  switch (stop.code) {
    case 'budget_trials': return `the budget of ${stop.n} trial${stop.n > 1 ? 's' : ''} is spent`;
    case 'budget_minutes': return `the time budget of ${stop.n} minute${stop.n === 1 ? '' : 's'} is spent`;
    case 'user': return 'stopped by the user; the best trial so far is kept';
    case 'start_meets': return 'the starting config meets the target';
    case 'no_set': return 'no set of sensitive layers kept in float meets the target short of keeping every layer in float';
    case 'complete': return 'the search is complete';
    case 'interrupted': return 'qtune stopped before this tuning finished; resume it to go on';
  }
}
