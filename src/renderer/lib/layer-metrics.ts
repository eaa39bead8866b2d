// Per-layer numbers out of an analyzer report, in the shapes the heatmap, the
// graph and the history comparison take.

import type { AnalysisReport, LayerAnalysis, LayerActivationStats } from '../../shared/analysis-types';
import type { HeatmapColumn } from '../heatmap/types';
import type { LayerTimes } from '../../shared/deploy-types';
import type { QuantStatsFile } from '../../shared/quant-types';
import { layerActivationStats } from '../../shared/stats-file';
import { t, type MessageKey } from './i18n/index.svelte';

export interface LayerMetricDef {
  key: string;
  /** the column's name in the current language */
  readonly label: string;
  /** the name colour scales know the direction of */
  metric: string;
  get(l: LayerAnalysis): number | undefined;
}

/** A metric whose label is looked up when read, so it follows the language switch. */
function def(key: string, labelKey: MessageKey, metric: string, get: (l: LayerAnalysis) => number | undefined): LayerMetricDef {
  return { key, metric, get, get label() { return t(labelKey); } };
}

export const LAYER_METRICS: LayerMetricDef[] = [
  def('accumulatedCosine', 'metric.accumulatedCosine', 'CosineSimilarity', (l) => l.accumulatedCosine),
  def('accumulatedSqnrDb', 'metric.accumulatedSqnrDb', 'SQNR', (l) => l.accumulatedSqnrDb),
  def('isolatedSensitivity', 'metric.isolatedSensitivity', 'IsolatedSensitivity', (l) => l.isolated?.sensitivity),
  def('isolatedCosine', 'metric.isolatedCosine', 'CosineSimilarity', (l) => l.isolated?.cosine),
  def('weightCosine', 'metric.weightCosine', 'WeightCosine', (l) => l.weight?.cosine),
  def('weightSqnrDb', 'metric.weightSqnrDb', 'SQNR', (l) => l.weight?.sqnrDb),
  def('gainIfSkipped', 'metric.gainIfSkipped', 'loss', (l) => l.output?.gainIfSkipped),
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
    ? [{ key: 'floatMs', label: t('metric.floatMs', { n: times.batchSize }), metric: 'TimeMs' }, { key: 'int8Ms', label: t('metric.int8Ms', { n: times.batchSize }), metric: 'TimeMs' }]
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
