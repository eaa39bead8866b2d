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

/** Every output of the model against the reference model's output of the same name, averaged over samples. */
export interface SimilarityMetrics {
  metric: SimilarityMetric;
  /** the chosen metric averaged over the outputs */
  value: number;
  outputs: { name: string; cosine: number; sqnrDb: number; mse: number }[];
}

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
  /** the output that was compared */
  output: string;
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

/** Tolerated accuracy drop: absolute percentage points, or percent of the float accuracy. */
export type AccuracyTarget = { mode: 'absolute'; points: number } | { mode: 'relative'; percent: number };

export const DEFAULT_TARGET: AccuracyTarget = { mode: 'absolute', points: 1 };

export interface TargetJudgement {
  meets: boolean;
  floatValue: number;
  quantValue: number;
  /** float − quantized, in points (negative when quantized is better) */
  drop: number;
  /** the largest drop allowed, in points */
  allowed: number;
  /** the tolerated drop it was judged against (absent in runs recorded before it was kept) */
  target?: AccuracyTarget;
  /** the verdict in English (the CLI, reports); the app words it from the fields above */
  message: string;
}
