// A run's headline figure as people read it: accuracy-like metrics in percent,
// a similarity to the float model in its own units (cosine, SQNR dB, MSE).

import { formatSimilarity, isSimilarityMetric, type MetricSpec } from '../../shared/eval-types';

export function formatRunValue(v: number | undefined, metric: MetricSpec | undefined): string {
  if (v === undefined) return '—';
  return metric && isSimilarityMetric(metric) ? formatSimilarity(metric, v) : `${v.toFixed(2)}%`;
}

/** float − int8 in points; for a similarity metric no "drop" in points exists: the figure itself says it. */
export function formatRunDrop(float: number | undefined, quant: number | undefined, metric: MetricSpec | undefined): string {
  if (float === undefined || quant === undefined || (metric && isSimilarityMetric(metric))) return '—';
  return (float - quant).toFixed(2);
}

/** A run's figure turned so that higher is better for every metric (MSE: lower is closer to the float model). */
export function runScore(r: { quantAccuracy?: number; metric?: MetricSpec }): number {
  if (r.quantAccuracy === undefined) return -Infinity;
  return r.metric === 'mse' ? -r.quantAccuracy : r.quantAccuracy;
}
