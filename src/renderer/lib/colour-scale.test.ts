import { describe, expect, it } from 'vitest';
import { rgb } from 'd3';
import { QtuneError } from '../../shared/errors';
import { NAN_COLOUR, contrastRatio, formatMetricValue, makeMetricScale, metricHigherIsBetter } from './colour-scale';

/** How dark a colour is (0 = white): larger towards the red, "bad" end of YlOrRd. */
function darkness(css: string): number {
  const c = rgb(css);
  return 765 - (c.r + c.g + c.b);
}

describe('metricHigherIsBetter', () => {
  it('knows the analyzer metrics in any spelling', () => {
    expect(metricHigherIsBetter('CosineSimilarity')).toBe(true);
    expect(metricHigherIsBetter('cosine_similarity')).toBe(true);
    expect(metricHigherIsBetter('SQNR')).toBe(true);
    expect(metricHigherIsBetter('isolated sensitivity')).toBe(true);
    expect(metricHigherIsBetter('MaxAbsoluteError')).toBe(false);
    expect(metricHigherIsBetter('RelativeEuclideanDistance')).toBe(false);
    expect(metricHigherIsBetter('KullbackLeiblerDivergence')).toBe(false);
    expect(metricHigherIsBetter('KL')).toBe(false);
  });

  it('refuses a metric it cannot place, naming it', () => {
    expect(() => metricHigherIsBetter('Frobnication')).toThrow(QtuneError);
    expect(() => metricHigherIsBetter('Frobnication')).toThrow(/Frobnication/);
  });
});

describe('makeMetricScale', () => {
  it('paints the worst value darkest whatever the direction', () => {
    const cos = makeMetricScale('CosineSimilarity', [0.5, 0.9, 0.999]);
    expect(cos.higherIsBetter).toBe(true);
    expect(darkness(cos.colour(0.5))).toBeGreaterThan(darkness(cos.colour(0.9)));
    expect(darkness(cos.colour(0.9))).toBeGreaterThan(darkness(cos.colour(0.999)));

    const err = makeMetricScale('MaxAbsoluteError', [0.5, 0.9, 0.999]);
    expect(err.higherIsBetter).toBe(false);
    // same numbers, reversed meaning: the largest error is the darkest
    expect(err.colour(0.999)).toBe(cos.colour(0.5));
    expect(err.colour(0.5)).toBe(cos.colour(0.999));
  });

  it('takes the domain from the finite values only', () => {
    const s = makeMetricScale('SQNR', [10, NaN, 30, Infinity, -Infinity, 20]);
    expect(s.domain).toEqual([10, 30]);
    // +Infinity SQNR (an exact layer) is as good as the best, not a crash
    expect(s.colour(Infinity)).toBe(s.colour(30));
    expect(s.colour(-Infinity)).toBe(s.colour(10));
  });

  it('gives NaN a neutral colour that no value gets', () => {
    const s = makeMetricScale('CosineSimilarity', [0, 0.5, 1]);
    expect(s.colour(NaN)).toBe(NAN_COLOUR);
    for (let v = 0; v <= 1; v += 0.05) expect(s.colour(v)).not.toBe(NAN_COLOUR);
    expect(s.failsThreshold(NaN)).toBe(false);
  });

  it('handles constant values without dividing by zero', () => {
    const s = makeMetricScale('MeanAbsoluteError', [0.25, 0.25, 0.25]);
    expect(s.constant).toBe(true);
    expect(s.domain[0]).toBeLessThan(0.25);
    expect(s.domain[1]).toBeGreaterThan(0.25);
    const c = s.colour(0.25);
    expect(rgb(c).displayable()).toBe(true);
    // the middle of the ramp: neither the best nor the worst colour
    expect(c).not.toBe(s.colour(s.domain[0]));
    expect(c).not.toBe(s.colour(s.domain[1]));
    for (const stop of s.legendStops) expect(rgb(stop.colour).displayable()).toBe(true);
  });

  it('handles no finite values at all', () => {
    const s = makeMetricScale('CosineSimilarity', [NaN, NaN], { threshold: 0.99 });
    expect(Number.isFinite(s.domain[0]) && Number.isFinite(s.domain[1])).toBe(true);
    expect(s.colour(NaN)).toBe(NAN_COLOUR);
  });

  it('marks values on the wrong side of the threshold', () => {
    const cos = makeMetricScale('CosineSimilarity', [0.9, 1], { threshold: 0.99 });
    expect(cos.failsThreshold(0.98)).toBe(true);
    expect(cos.failsThreshold(0.995)).toBe(false);
    expect(cos.thresholdOffset).toBeCloseTo(0.9, 6);

    const err = makeMetricScale('MaxAbsoluteError', [0, 2], { threshold: 0.5 });
    expect(err.failsThreshold(0.6)).toBe(true);
    expect(err.failsThreshold(0.4)).toBe(false);
    expect(err.thresholdOffset).toBeCloseTo(0.25, 6);

    const none = makeMetricScale('CosineSimilarity', [0.1, 0.2]);
    expect(none.failsThreshold(0)).toBe(false);
    expect(none.thresholdOffset).toBeUndefined();
  });

  it('lays legend stops from min to max in the scale colours', () => {
    const s = makeMetricScale('RootMeanSquareError', [1, 3], { stops: 5 });
    expect(s.legendStops.map((x) => x.value)).toEqual([1, 1.5, 2, 2.5, 3]);
    expect(s.legendStops[0].colour).toBe(s.colour(1));
    expect(s.legendStops[4].colour).toBe(s.colour(3));
    expect(s.textColour(3)).toBe('#ffffff');
    expect(s.textColour(1)).toBe('#000000');
  });

  it('cell text reads at 4.5:1 or more on every colour of the ramp (WCAG AA)', () => {
    const s = makeMetricScale('RootMeanSquareError', [0, 1]);
    for (let i = 0; i <= 100; i++) {
      const v = i / 100;
      expect(contrastRatio(s.colour(v), s.textColour(v)), `at ${v} on ${s.colour(v)}`).toBeGreaterThanOrEqual(4.5);
    }
  });

  it('accepts an explicit direction and domain', () => {
    const s = makeMetricScale('custom score', [0.2, 0.4], { higherIsBetter: true, domain: [0, 1] });
    expect(s.domain).toEqual([0, 1]);
    expect(s.colour(0)).toBe(s.legendStops[0].colour);
    expect(darkness(s.colour(0))).toBeGreaterThan(darkness(s.colour(1)));
  });
});

describe('formatMetricValue', () => {
  it('keeps numbers short', () => {
    expect(formatMetricValue(0.998712)).toBe('0.9987');
    expect(formatMetricValue(1.234e-5)).toBe('1.23e-5');
    expect(formatMetricValue(34.123)).toBe('34.12');
    expect(formatMetricValue(NaN)).toBe('NaN');
    expect(formatMetricValue(Infinity)).toBe('∞');
  });
});

describe('a threshold anchors the colours', () => {
  it('keeps layers that all pass pale, however close to 1 they are', () => {
    const s = makeMetricScale('CosineSimilarity', [0.9999, 1], { threshold: 0.99 });
    // 0.9999 is far above the threshold: near the best end, not the worst.
    expect(s.domain[0]).toBeCloseTo(0.98, 9);
    const worst = makeMetricScale('CosineSimilarity', [0.9999, 1]);
    expect(s.colour(0.9999)).not.toBe(worst.colour(0.9999));
    expect(s.failsThreshold(0.9999)).toBe(false);
  });

  it('puts a lower-is-better threshold inside the domain too', () => {
    const s = makeMetricScale('MaxAbsoluteError', [0, 0.01], { threshold: 0.5 });
    expect(s.domain[1]).toBeCloseTo(1, 9);
  });
});
