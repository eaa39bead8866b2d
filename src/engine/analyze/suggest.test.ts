import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, type LayerAnalysis } from '../../shared/analysis-types';
import { suggestSkips } from './suggest';

function layer(name: string, extra: Partial<LayerAnalysis> = {}): LayerAnalysis {
  return { name, opType: 'Conv', quantized: true, inputTensor: `${name}.in`, outputTensor: `${name}.out`, paramCount: 50_000, isInputLayer: false, isOutputLayer: false, ...extra };
}
const iso = (sensitivity: number) => ({ sensitivity, worst: sensitivity, worstSample: 0, cosine: 2 * sensitivity - 1, sqnrDb: 20 });

describe('suggestSkips', () => {
  it('ranks measured damage above the structural heuristics, and explains each', () => {
    const s = suggestSkips([
      layer('first', { isInputLayer: true, paramCount: 36, accumulatedCosine: 1, accumulatedCosineDrop: 0, isolated: iso(0.99999) }),
      layer('clipped', { accumulatedCosine: 0.95, accumulatedCosineDrop: 0.045, isolated: iso(0.97) }),
      layer('mild', { accumulatedCosine: 0.949, accumulatedCosineDrop: 0.001, isolated: iso(0.9999) }),
      layer('skipped', { quantized: false, accumulatedCosine: 0.5, accumulatedCosineDrop: 0.4 }),
      layer('fine', { accumulatedCosine: 0.999, accumulatedCosineDrop: 0, isolated: iso(1) }),
    ], DEFAULT_THRESHOLDS);
    expect(s.map((x) => x.layer)).toEqual(['clipped', 'first', 'mild']);
    expect(s.map((x) => x.rank)).toEqual([1, 2, 3]);
    expect(s[0].reasons.map((r) => r.kind)).toEqual(['isolated-sensitivity', 'accumulated-drop', 'accumulated-cosine']);
    // 4 · (1 − 0.97) / (1 − 0.995) + 2 · 0.045 / 0.01 + 0.5
    expect(s[0].score).toBeCloseTo(24 + 9 + 0.5, 9);
    expect(s[1].reasons.map((r) => r.kind)).toEqual(['input-layer', 'few-parameters']);
    // a drop below a quarter of the budget is no reason; the cumulative cosine alone is a weak one
    expect(s[2].reasons.map((r) => r.kind)).toEqual(['accumulated-cosine']);
  });

  it('downstream of a damaged layer, drops count less than the damaged layer\'s own isolated error', () => {
    const s = suggestSkips([
      layer('damaged', { accumulatedInputCosine: 1, accumulatedCosine: 0.7, accumulatedCosineDrop: 0.3, isolated: iso(0.85) }),
      layer('after', { accumulatedInputCosine: 0.7, accumulatedCosine: 0.3, accumulatedCosineDrop: 0.4, isolated: iso(0.999) }),
    ], DEFAULT_THRESHOLDS);
    expect(s.map((x) => x.layer)).toEqual(['damaged', 'after']);
    expect(s[1].reasons.find((r) => r.kind === 'accumulated-drop')!.text).toMatch(/counts less/);
    // the app words the same fact from the fields: the input cosine travels with the reason
    expect(s[1].reasons.find((r) => r.kind === 'accumulated-drop')!.inputCosine).toBeCloseTo(0.7, 9);
    expect(s[0].reasons.find((r) => r.kind === 'accumulated-drop')!.inputCosine).toBeUndefined();
  });

  it('thresholds are the user\'s: a stricter cosine threshold marks more layers', () => {
    const layers = [layer('a', { accumulatedCosine: 0.995, accumulatedCosineDrop: 0.002 })];
    expect(suggestSkips(layers, DEFAULT_THRESHOLDS)).toEqual([]);
    const strict = suggestSkips(layers, { ...DEFAULT_THRESHOLDS, accumulatedCosine: 0.999 });
    expect(strict[0].reasons.map((r) => r.kind)).toEqual(['accumulated-drop', 'accumulated-cosine']);
  });

  it('a measured output error share of 5% or more is a reason, and the gain is reported', () => {
    const s = suggestSkips([
      layer('x', { isolated: iso(0.99), output: { gainIfSkipped: 0.02, errorShareIfSkipped: 0.8 } }),
      layer('y', { isolated: iso(0.98), output: { gainIfSkipped: 0.001, errorShareIfSkipped: 0.04 } }),
    ], DEFAULT_THRESHOLDS);
    expect(s[0].layer).toBe('y'); // 4·0.02/0.005 = 16 beats 4·0.8 + 4·0.01/0.005 = 11.2
    expect(s.find((v) => v.layer === 'x')!.expectedGain).toBe(0.02);
    expect(s.find((v) => v.layer === 'x')!.reasons[0].kind).toBe('output-gain');
    expect(s.find((v) => v.layer === 'y')!.reasons.map((r) => r.kind)).not.toContain('output-gain');
  });

  it('recommends only layers whose own error is measured, not rules of thumb or inherited error', () => {
    const s = suggestSkips([
      layer('damaged', { accumulatedInputCosine: 1, accumulatedCosine: 0.7, accumulatedCosineDrop: 0.3, isolated: iso(0.85) }),
      layer('after', { accumulatedInputCosine: 0.7, accumulatedCosine: 0.3, accumulatedCosineDrop: 0.4, isolated: iso(0.999) }),
      layer('first', { isInputLayer: true, paramCount: 36, accumulatedCosine: 1, accumulatedCosineDrop: 0, isolated: iso(1) }),
      layer('drops-on-clean-input', { accumulatedInputCosine: 0.999, accumulatedCosine: 0.98, accumulatedCosineDrop: 0.019, isolated: iso(0.999) }),
    ], DEFAULT_THRESHOLDS);
    const recommended = Object.fromEntries(s.map((x) => [x.layer, x.recommended]));
    expect(recommended).toEqual({ damaged: true, after: false, first: false, 'drops-on-clean-input': true });
  });
});
