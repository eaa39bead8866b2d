// Per-layer numbers out of an analyzer report, in the shapes the heatmap, the
// graph and the history comparison take.

import type { AnalysisReport, LayerAnalysis, LayerActivationStats } from '../../shared/analysis-types';
import type { HeatmapColumn } from '../heatmap/types';
import type { LayerTimes } from '../../shared/deploy-types';
import type { QuantStatsFile } from '../../shared/quant-types';
import { layerActivationStats } from '../../shared/stats-file';

export interface LayerMetricDef {
  key: string;
  label: string;
  /** the name colour scales know the direction of */
  metric: string;
  get(l: LayerAnalysis): number | undefined;
}

export const LAYER_METRICS: LayerMetricDef[] = [
  { key: 'accumulatedCosine', label: 'cosine (accum.)', metric: 'CosineSimilarity', get: (l) => l.accumulatedCosine },
  { key: 'accumulatedSqnrDb', label: 'SQNR dB (accum.)', metric: 'SQNR', get: (l) => l.accumulatedSqnrDb },
  { key: 'isolatedSensitivity', label: 'isolated sensitivity', metric: 'IsolatedSensitivity', get: (l) => l.isolated?.sensitivity },
  { key: 'isolatedCosine', label: 'cosine (isolated)', metric: 'CosineSimilarity', get: (l) => l.isolated?.cosine },
  { key: 'weightCosine', label: 'weight cosine', metric: 'WeightCosine', get: (l) => l.weight?.cosine },
  { key: 'weightSqnrDb', label: 'weight SQNR dB', metric: 'SQNR', get: (l) => l.weight?.sqnrDb },
  { key: 'gainIfSkipped', label: 'output gain if skipped', metric: 'loss', get: (l) => l.output?.gainIfSkipped },
];

export function metricDef(key: string | undefined): LayerMetricDef {
  return LAYER_METRICS.find((m) => m.key === key) ?? LAYER_METRICS[0];
}

/** The metrics this report has at least one value for. */
export function availableMetrics(report: AnalysisReport): LayerMetricDef[] {
  return LAYER_METRICS.filter((m) => report.layers.some((l) => m.get(l) !== undefined));
}

/** layers × metrics for the heatmap; with the run's profile, each layer's time in the float and the int8 model too */
export function layerMetricGrid(report: AnalysisReport, times?: LayerTimes): { rows: string[]; columns: HeatmapColumn[]; values: number[][] } {
  const defs = availableMetrics(report);
  const timeColumns: HeatmapColumn[] = times
    ? [{ key: 'floatMs', label: `float ms (batch ${times.batchSize})`, metric: 'TimeMs' }, { key: 'int8Ms', label: `int8 ms (batch ${times.batchSize})`, metric: 'TimeMs' }]
    : [];
  return {
    rows: report.layers.map((l) => l.name),
    columns: [...defs.map((d) => ({ key: d.key, label: d.label, metric: d.metric })), ...timeColumns],
    values: report.layers.map((l) => [...defs.map((d) => d.get(l) ?? NaN), ...(times ? [times.float[l.name] ?? NaN, times.int8[l.name] ?? NaN] : [])]),
  };
}

export function thresholdsFor(report: AnalysisReport, cosine?: number): Record<string, number> {
  return {
    CosineSimilarity: cosine ?? report.thresholds.accumulatedCosine,
    IsolatedSensitivity: report.thresholds.isolatedSensitivity,
    WeightCosine: report.thresholds.weightCosine,
  };
}

/** one metric per layer, for colouring the graph */
export function metricByLayer(report: AnalysisReport, key: string): Record<string, number> {
  const def = metricDef(key);
  const out: Record<string, number> = {};
  for (const l of report.layers) {
    const v = def.get(l);
    if (v !== undefined) out[l.name] = v;
  }
  return out;
}

/**
 * A layer's activation statistics: the analyzer's copy when there is one,
 * otherwise the run's stats file (read by the backend with the one reader,
 * src/shared/stats-file.ts).
 */
export function activationStats(report: AnalysisReport | null, stats: QuantStatsFile | undefined, layer: string): LayerActivationStats | undefined {
  const fromReport = report?.layers.find((l) => l.name === layer)?.activation;
  if (fromReport?.histogram || fromReport?.losses) return fromReport;
  const entry = stats?.layers.find((l) => l.name === layer);
  return entry ? layerActivationStats(entry) : fromReport;
}
