// Evaluation results and accuracy targets, shared by the engine, the CLI and
// the UI. Accuracies and agreements are in percent (0–100) so a target's
// "points" read the same everywhere.

/**
 * 'classification' | 'fidelity' | 'custom:/path/to/metric.js', or how close every output stays to a reference
 * (float) model's, for any model: 'cosine' | 'sqnr' (dB) | 'mse'
 */
export type MetricSpec = 'classification' | 'fidelity' | SimilarityMetric | `custom:${string}`;
export type SimilarityMetric = 'cosine' | 'sqnr' | 'mse';
export const SIMILARITY_METRICS: readonly SimilarityMetric[] = ['cosine', 'sqnr', 'mse'];
export const isSimilarityMetric = (m: string): m is SimilarityMetric => (SIMILARITY_METRICS as readonly string[]).includes(m);

/** Every output of the model against the reference model's output of the same name, averaged over samples. */
export interface SimilarityMetrics {
  metric: SimilarityMetric;
  /** the chosen metric averaged over the outputs */
  value: number;
  outputs: OutputSimilarity[];
}

/** One output against the reference's, each figure averaged over samples (SQNR held within ±SQNR_CAP_DB, a dead output's cosine 0). */
export interface OutputSimilarity {
  name: string;
  cosine: number;
  sqnrDb: number;
  mse: number;
  /** percent of samples whose top-1 (argmax) equals the reference's; fidelity runs only */
  top1Agreement?: number;
}

/** Whether a larger value of the metric is closer to the float model (cosine, SQNR) or not (MSE). */
export const higherIsBetter = (metric: SimilarityMetric): boolean => metric !== 'mse';

/** What the float model scores against itself: cosine 1, SQNR at its cap, MSE 0. */
export const similarityIdeal = (metric: SimilarityMetric): number => (metric === 'cosine' ? 1 : metric === 'sqnr' ? SQNR_CAP_DB : 0);

/** A similarity value as people read it: cosine to 5 places, SQNR in dB to 2, MSE in exponent form. */
export function formatSimilarity(metric: SimilarityMetric, v: number): string {
  return metric === 'cosine' ? v.toFixed(5) : metric === 'sqnr' ? `${v.toFixed(2)} dB` : v.toExponential(3);
}

/** The comparison a similarity target asks for: cosine/SQNR at least the threshold, MSE at most. */
export const similarityRelation = (metric: SimilarityMetric): '≥' | '≤' => (higherIsBetter(metric) ? '≥' : '≤');

export interface EvalProgress {
  stage: 'evaluate';
  done: number;
  total: number;
}

export interface PerClassAccuracy {
  correct: number;
  total: number;
  /** percent; null when the class has no samples */
  accuracy: number | null;
}

export interface ClassificationMetrics {
  /** percent */
  top1: number;
  /** percent; null when the model has fewer than 5 classes */
  top5: number | null;
  numClasses: number;
  perClass: PerClassAccuracy[];
  /** confusion[label][prediction] = count */
  confusion: number[][];
}

export interface FidelityMetrics {
  /** percent of samples whose top-1 equals the reference model's */
  top1Agreement: number;
  /** mean over samples of the cosine similarity of the compared output */
  cosine: number;
  /** mean over samples of 20·log10(‖ref‖ / ‖out − ref‖) in dB; identical outputs count as SQNR_CAP_DB */
  sqnrDb: number;
  /** the output whose top-1 is compared (per-sample predictions, flips) */
  output: string;
  /** every output the model shares with the reference, each compared on its own; cosine and sqnrDb above are their mean */
  outputs?: OutputSimilarity[];
}

export const SQNR_CAP_DB = 200;

/** Per-sample predictions, to list which samples flipped between two runs. */
export interface PerSampleResult {
  indices: number[];
  predictions: number[];
  /** top-1 score minus top-2 score of each sample (how sure the model was); NaN when not available */
  margins: number[];
  labels?: number[];
}

export interface EvalResult {
  metric: MetricSpec;
  /** the headline number: top-1 (classification), top-1 agreement (fidelity), or the custom value */
  value: number;
  samples: number;
  classification?: ClassificationMetrics;
  fidelity?: FidelityMetrics;
  similarity?: SimilarityMetrics;
  custom?: { value: number; details?: unknown };
  perSample?: PerSampleResult;
  /** images that could not be decoded and were skipped (skipBadImages) */
  skipped?: { file: string; reason: string }[];
  /** things the user should know, e.g. "batch size forced to 1 by the model's fixed batch dimension" */
  notes: string[];
  durationMs: number;
}

export interface Flip {
  index: number;
  label?: number;
  floatPrediction: number;
  quantPrediction: number;
  /** the float run's top-1 minus top-2 score: small margins flip easily */
  floatMargin: number;
  quantMargin: number;
  /** 'broke': float was right, quantized wrong; 'fixed': the reverse; 'changed': neither or no label */
  kind: 'broke' | 'fixed' | 'changed';
}

/**
 * The project's target: a tolerated accuracy drop (absolute percentage points, or percent of the float
 * accuracy), or, for any model and without labels, how close every output must stay to the float model's
 * (cosine ≥ threshold, SQNR ≥ threshold dB, MSE ≤ threshold; the run then measures that metric).
 */
export type AccuracyTarget =
  | { mode: 'absolute'; points: number }
  | { mode: 'relative'; percent: number }
  | { mode: 'similarity'; metric: SimilarityMetric; threshold: number };

/** The threshold a similarity target starts from when the user picks its metric. */
export const DEFAULT_SIMILARITY_THRESHOLD: Record<SimilarityMetric, number> = { cosine: 0.99, sqnr: 30, mse: 0.01 };

/** The metric a run measures: a similarity target's own, else the evaluation's. */
export function measuredMetric(metric: MetricSpec, target: AccuracyTarget): MetricSpec {
  return target.mode === 'similarity' ? target.metric : metric;
}

export const DEFAULT_TARGET: AccuracyTarget = { mode: 'absolute', points: 1 };

export interface TargetJudgement {
  meets: boolean;
  floatValue: number;
  quantValue: number;
  /** float − quantized, in points (negative when quantized is better); for a similarity target how much further from the float model than its own score, in the metric's units (MSE: quantized − float) */
  drop: number;
  /** the largest drop allowed, in points (similarity: the distance from the float model's own score to the threshold) */
  allowed: number;
  /** the tolerated drop it was judged against (absent in runs recorded before it was kept) */
  target?: AccuracyTarget;
  /** the verdict in English (the CLI, reports); the app words it from the fields above */
  message: string;
}
