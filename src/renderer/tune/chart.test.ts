import { describe, expect, it } from 'vitest';
import type { TuneSummary, TuneTrial } from '../../shared/tune-types';
import { targetValue, tuneChart } from './chart';

const trial = (index: number, floatLayers: number, value: number, meets: boolean): TuneTrial => ({
  index, phase: 'rollback', change: `t${index}`, floatLayers: Array.from({ length: floatLayers }, (_, i) => `l${i}`), tuned: [],
  floatValue: 85, value, drop: 85 - value, meets, message: '', durationMs: 1, config: {},
});

const summary = (trials: TuneTrial[], best: number | null): TuneSummary => ({
  version: 1, status: 'done', target: { mode: 'absolute', points: 1 }, budget: {}, startedAt: '', floatValue: 85, trials, best, verdict: '',
});

describe('tuneChart', () => {
  it('puts more float layers to the right, higher metrics higher, and the target line at float minus the allowed drop', () => {
    const g = tuneChart(summary([trial(1, 0, 74, false), trial(2, 1, 82, false), trial(3, 2, 84.5, true)], 3), 600, 300);
    const [a, b, c] = g.points;
    expect(a.x).toBeLessThan(b.x);
    expect(b.x).toBeLessThan(c.x);
    expect(a.y).toBeGreaterThan(b.y); // SVG y grows downwards
    expect(g.target!.value).toBe(84);
    expect(c.y).toBeLessThan(g.target!.y); // above the line: meets
    expect(b.y).toBeGreaterThan(g.target!.y);
    expect(g.points.filter((p) => p.best).map((p) => p.trial)).toEqual([3]);
    expect(g.path.startsWith(`M${a.x.toFixed(1)}`)).toBe(true);
    expect(g.xTicks.map((t) => t.label)).toEqual(['0', '1', '2']);
  });

  it('spreads trials with the same number of float layers apart, and leaves failed trials out', () => {
    const failed = { ...trial(3, 1, 0, false), error: 'refused' };
    const g = tuneChart(summary([trial(1, 1, 80, false), trial(2, 1, 81, false), failed], null), 600, 300);
    expect(g.points).toHaveLength(2);
    expect(g.points[0].x).not.toBe(g.points[1].x);
  });

  it('reads a relative target as a percent of the float metric', () => {
    expect(targetValue(80, { mode: 'relative', percent: 1 })).toBeCloseTo(79.2);
  });

  it('a similarity target: the line at the threshold, the float model\'s own score off the scale, MSE read as "at most"', () => {
    const sim = (metric: 'cosine' | 'mse', threshold: number, values: number[]): TuneSummary => ({
      ...summary(values.map((v, i) => ({ ...trial(i + 1, i, v, false), floatValue: metric === 'cosine' ? 1 : 0 })), 1),
      target: { mode: 'similarity', metric, threshold },
      floatValue: metric === 'cosine' ? 1 : 0,
    });
    const cos = tuneChart(sim('cosine', 0.999, [0.9975, 0.9985, 0.9992]), 600, 300);
    expect(cos.target).toMatchObject({ value: 0.999, label: '0.999', atMost: false });
    expect(cos.float).toBeUndefined();
    // the trials spread over the chart, not squeezed into a 0.5-point padding
    expect(cos.points[0].y - cos.points[2].y).toBeGreaterThan(100);
    expect(cos.yTicks.every((t) => /^0\.99\d+$/.test(t.label))).toBe(true);
    const mse = tuneChart(sim('mse', 0.002, [0.0033, 0.0025]), 600, 300);
    expect(mse.target).toMatchObject({ value: 0.002, atMost: true });
  });
});
