// Which samples changed their answer between a float and a quantized run.

import { QtuneError } from '../../shared/errors';
import type { EvalResult, Flip } from '../../shared/eval-types';

/** Flips between two runs over the same samples, smallest float margin first (the likeliest to flip). */
export function comparePredictions(floatResult: EvalResult, quantResult: EvalResult): Flip[] {
  const a = floatResult.perSample;
  const b = quantResult.perSample;
  if (!a || !b) throw new QtuneError('eval_no_predictions', 'both results need per-sample predictions (classification or fidelity runs)');
  const quantAt = new Map<number, number>();
  b.indices.forEach((idx, k) => quantAt.set(idx, k));
  const flips: Flip[] = [];
  a.indices.forEach((index, k) => {
    const q = quantAt.get(index);
    if (q === undefined || a.predictions[k] === b.predictions[q]) return;
    const label = a.labels?.[k];
    const floatRight = label !== undefined && a.predictions[k] === label;
    const quantRight = label !== undefined && b.predictions[q] === label;
    flips.push({
      index,
      label,
      floatPrediction: a.predictions[k],
      quantPrediction: b.predictions[q],
      floatMargin: a.margins[k],
      quantMargin: b.margins[q],
      kind: floatRight && !quantRight ? 'broke' : quantRight && !floatRight ? 'fixed' : 'changed',
    });
  });
  return flips.sort((x, y) => (x.floatMargin || 0) - (y.floatMargin || 0));
}
