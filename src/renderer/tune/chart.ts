// Geometry of the tuning chart: each trial's metric against the number of
// layers it leaves in float, the target line (the lowest metric that meets the
// target), the float model's metric, and the best trial marked. Pure, so it is
// tested without a DOM; the component only draws what this returns.

import { scaleLinear } from 'd3';
import { higherIsBetter, type AccuracyTarget } from '../../shared/eval-types';
import type { TuneSummary } from '../../shared/tune-types';

export interface ChartPoint {
  trial: number;
  x: number;
  y: number;
  floatLayers: number;
  value: number;
  meets: boolean;
  best: boolean;
  failed: boolean;
  label: string;
}

export interface TuneChartGeometry {
  width: number;
  height: number;
  margin: { l: number; r: number; t: number; b: number };
  points: ChartPoint[];
  /** trials in order, joined */
  path: string;
  xTicks: { x: number; label: string }[];
  yTicks: { y: number; label: string }[];
  /** the lowest metric that meets the target (MSE: the highest; atMost), when the float metric is known */
  target?: { y: number; value: number; label: string; atMost: boolean };
  float?: { y: number; value: number };
}

/** The lowest int8 metric that meets the target. */
export function targetValue(floatValue: number, target: AccuracyTarget): number {
  if (target.mode === 'similarity') return target.threshold;
  return floatValue - (target.mode === 'absolute' ? target.points : (floatValue * target.percent) / 100);
}

export function tuneChart(summary: TuneSummary, width: number, height: number): TuneChartGeometry {
  const margin = { l: 48, r: 16, t: 12, b: 34 };
  const trials = summary.trials.filter((t) => !t.error);
  const floatValue = summary.floatValue ?? trials[0]?.floatValue;
  const goal = floatValue === undefined ? undefined : targetValue(floatValue, summary.target);
  // a similarity target's scale is the metric's own (cosines within 0.01 of 1; the float model's SQNR is only
  // its cap): the float line is left out of the range there, and the padding follows the values' spread
  const similarity = summary.target.mode === 'similarity';
  const values = [...trials.map((t) => t.value), ...(floatValue !== undefined && !similarity ? [floatValue] : []), ...(goal !== undefined ? [goal] : [])];
  const lo = values.length ? Math.min(...values) : 0;
  const hi = values.length ? Math.max(...values) : 100;
  const pad = similarity ? Math.max((hi - lo) * 0.08, Math.abs(hi) * 1e-4, 1e-12) : Math.max(0.5, (hi - lo) * 0.08);
  const maxX = Math.max(2, ...trials.map((t) => t.floatLayers.length));
  const x = scaleLinear().domain([-0.3, maxX + 0.8]).range([margin.l, width - margin.r]);
  const y = scaleLinear().domain([lo - pad, hi + pad]).range([height - margin.b, margin.t]).nice();
  // trials with the same number of float layers sit side by side, in trial order
  const seen = new Map<number, number>();
  const count = new Map<number, number>();
  for (const t of trials) count.set(t.floatLayers.length, (count.get(t.floatLayers.length) ?? 0) + 1);
  const points: ChartPoint[] = trials.map((t) => {
    const n = t.floatLayers.length;
    const k = seen.get(n) ?? 0;
    seen.set(n, k + 1);
    const spread = Math.min(7, (0.6 * (x(1) - x(0))) / Math.max(1, count.get(n)!));
    return {
      trial: t.index,
      x: x(n) + (k - (count.get(n)! - 1) / 2) * spread,
      y: y(t.value),
      floatLayers: n,
      value: t.value,
      meets: t.meets,
      best: t.index === summary.best,
      failed: false,
      label: `trial ${t.index}: ${t.change} — ${similarity ? String(+t.value.toPrecision(6)) : t.value.toFixed(2)} with ${n} in float`,
    };
  });
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join('');
  const whole = maxX <= 12 ? Array.from({ length: maxX + 1 }, (_, i) => i) : x.ticks(10).filter((v) => Number.isInteger(v) && v >= 0);
  const xTicks = whole.map((v) => ({ x: x(v), label: String(v) }));
  const yFormat = similarity ? y.tickFormat(5) : (v: number) => v.toFixed(1);
  const yTicks = y.ticks(5).map((v) => ({ y: y(v), label: yFormat(v) }));
  return {
    width,
    height,
    margin,
    points,
    path,
    xTicks,
    yTicks,
    ...(goal !== undefined
      ? { target: { y: y(goal), value: goal, label: similarity ? String(goal) : goal.toFixed(2), atMost: summary.target.mode === 'similarity' && !higherIsBetter(summary.target.metric) } }
      : {}),
    ...(floatValue !== undefined && !similarity ? { float: { y: y(floatValue), value: floatValue } } : {}),
  };
}
