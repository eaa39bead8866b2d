// The accuracy analyzer's report: what the engine computes when it compares a
// float model with its quantized (QDQ) copy, in a form the CLI, the HTML
// report and the UI all read. Plain data only (no classes), so it survives
// IPC and JSON. Non-finite numbers (NaN, ±Infinity) are meaningful here
// (a cosine of NaN = one side all zero, an SQNR of Infinity = identical
// tensors); JSON files write them as the strings "NaN", "Infinity",
// "-Infinity" (see the engine's report writer and reader).

/** The eleven comparison metrics of the documented accuracy comparison, in report order. */
export const METRIC_NAMES = [
  'CosineSimilarity',
  'MaxAbsoluteError',
  'AccumulatedRelativeError',
  'RelativeEuclideanDistance',
  'KullbackLeiblerDivergence',
  'StandardDeviation',
  'MeanAbsoluteError',
  'RootMeanSquareError',
  'MaxRelativeError',
  'MeanRelativeError',
  'SQNR',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/**
 * One comparison of a quantized tensor x with its float counterpart y.
 * StandardDeviation is four numbers (mean and population std of each side).
 */
export interface TensorMetrics {
  CosineSimilarity: number;
  MaxAbsoluteError: number;
  AccumulatedRelativeError: number;
  RelativeEuclideanDistance: number;
  KullbackLeiblerDivergence: number;
  MeanAbsoluteError: number;
  RootMeanSquareError: number;
  MaxRelativeError: number;
  MeanRelativeError: number;
  /** dB; +Infinity when x equals y */
  SQNR: number;
  quantMean: number;
  quantStd: number;
  floatMean: number;
  floatStd: number;
}

/** Numeric keys of TensorMetrics, each aggregated over samples. */
export type MetricKey = keyof TensorMetrics;
export const METRIC_KEYS: readonly MetricKey[] = [
  'CosineSimilarity', 'MaxAbsoluteError', 'AccumulatedRelativeError', 'RelativeEuclideanDistance',
  'KullbackLeiblerDivergence', 'MeanAbsoluteError', 'RootMeanSquareError', 'MaxRelativeError',
  'MeanRelativeError', 'SQNR', 'quantMean', 'quantStd', 'floatMean', 'floatStd',
];

/** Which way is worse for a metric (for "worst sample", colour scales and sorting). */
export const METRIC_WORSE: Record<MetricKey, 'lower' | 'higher' | 'none'> = {
  CosineSimilarity: 'lower', SQNR: 'lower',
  MaxAbsoluteError: 'higher', AccumulatedRelativeError: 'higher', RelativeEuclideanDistance: 'higher',
  KullbackLeiblerDivergence: 'higher', MeanAbsoluteError: 'higher', RootMeanSquareError: 'higher',
  MaxRelativeError: 'higher', MeanRelativeError: 'higher',
  quantMean: 'none', quantStd: 'none', floatMean: 'none', floatStd: 'none',
};

/** A metric over the compared samples. */
export interface MetricAggregate {
  /** mean over samples where the value is not NaN (NaN when none is) */
  mean: number;
  /** the worst sample's value (see METRIC_WORSE; for 'none' metrics, the last sample's) */
  worst: number;
  /** index (into the dataset) of that sample */
  worstSample: number;
  /** samples where the value was NaN (cosine with one all-zero side) */
  nanCount: number;
}

/** One tensor present in both models, compared over the samples ("accumulated" error). */
export interface TensorComparison {
  /** position in the float model's node order (the CSV Index column) */
  index: number;
  name: string;
  /** op type of the node producing it in the float model ("Input" for a graph input) */
  opType: string;
  /** node producing it in the float model */
  nodeName: string;
  /** shape of one sample's slice as seen on the first batch */
  shape: number[];
  /** set when this tensor is the output of a layer quantized in the QDQ model */
  quantizedLayer?: { name: string; opType: string };
  /** number of samples compared */
  samples: number;
  metrics: Record<MetricKey, MetricAggregate>;
}

/** Isolated sensitivity of a quantized layer: it alone quantized, fed the float input. */
export interface IsolatedSensitivity {
  /** mean over samples of 0.5 + 0.5·cos (1 if the float output is all zero, 0 if only the quantized one is) */
  sensitivity: number;
  /** lowest per-sample value */
  worst: number;
  worstSample: number;
  /** mean cosine (NaN samples left out) of the layer output */
  cosine: number;
  sqnrDb: number;
}

export interface ChannelError {
  cosine: number;
  sqnrDb: number;
}

/** Float weights vs their dequantized int8 copy. */
export interface WeightError {
  weightName: string;
  shape: number[];
  /** axis of the per-channel scales; undefined when per-tensor */
  channelAxis?: number;
  cosine: number;
  sqnrDb: number;
  /** per output channel when channel-wise */
  perChannel?: ChannelError[];
  /** min / max of the float weights per output channel (whole tensor when per-tensor) */
  channelRanges: { min: number[]; max: number[] };
}

/** Per layer input statistics, passed through from the quantization run's stats file. */
export interface LayerActivationStats {
  /** histogram counts of the float activation over `[histMin, histMax]`, equal-width bins */
  histogram?: { min: number; max: number; counts: number[] };
  /** observed min / max of the activation */
  min?: number;
  max?: number;
  /** percentile initial clip values (IFMR step 1) */
  maxInit?: number;
  minInit?: number;
  /** chosen clip range */
  clipMin?: number;
  clipMax?: number;
  scale?: number;
  offset?: number;
  /** the IFMR search curve: ratio per candidate, loss per candidate, the chosen index */
  candidates?: number[];
  losses?: number[];
  bestIndex?: number;
}

/** Output sensitivity: the model output when only this layer is quantized, and when all but it are. */
export interface OutputSensitivity {
  /** output cosine (mean over samples, then over the model's outputs) with only this layer quantized */
  onlyThisCosine?: number;
  /** output cosine (mean over samples, then over the outputs) with every quantized layer except this one */
  allButThisCosine?: number;
  /** allButThisCosine − the fully quantized model's output cosine */
  gainIfSkipped?: number;
  /** gainIfSkipped / (1 − the fully quantized model's output cosine): the share of the output's cosine error skipping it removes */
  errorShareIfSkipped?: number;
  /** top-1 agreement (percent) with the float model when this layer is skipped, for classifier-like (2-D) outputs; their mean when several */
  allButThisTop1Agreement?: number;
  /** models with several outputs: the same figures for each output */
  perOutput?: { name: string; onlyThisCosine?: number; allButThisCosine: number; allButThisTop1Agreement?: number }[];
}

export interface LayerAnalysis {
  name: string;
  opType: string;
  /** true when the layer is quantized in the QDQ model */
  quantized: boolean;
  inputTensor: string;
  outputTensor: string;
  paramCount: number;
  /** first / last quantizable layer on the path from the model inputs / to the outputs */
  isInputLayer: boolean;
  isOutputLayer: boolean;
  /** accumulated comparison of the layer's output (mean over samples) */
  accumulatedCosine?: number;
  accumulatedSqnrDb?: number;
  /** accumulated cosine of the layer's input (1 for a model input) */
  accumulatedInputCosine?: number;
  /** accumulated cosine of the layer's input minus that of its output: the loss this layer adds */
  accumulatedCosineDrop?: number;
  isolated?: IsolatedSensitivity;
  weight?: WeightError;
  activation?: LayerActivationStats;
  output?: OutputSensitivity;
}

export type SuggestionReasonKind =
  | 'input-layer' | 'output-layer' | 'few-parameters' | 'accumulated-cosine'
  | 'accumulated-drop' | 'isolated-sensitivity' | 'weight-error' | 'output-gain';

export interface SuggestionReason {
  kind: SuggestionReasonKind;
  /** a sentence for the user */
  text: string;
  /** the measured value behind the reason, when there is one */
  value?: number;
  threshold?: number;
  /** accumulated-drop only: the layer's input cosine when it is already below the threshold (the drop then counts less) */
  inputCosine?: number;
}

/** A layer the analyzer suggests keeping in float (`quant_enable: false`). */
export interface SkipSuggestion {
  rank: number;
  layer: string;
  opType: string;
  score: number;
  reasons: SuggestionReason[];
  /** measured output cosine gain if this layer alone is skipped (output sensitivity) */
  expectedGain?: number;
  /**
   * The layer's own error is measured above a threshold (isolated sensitivity,
   * output gain, weight error, or a large drop across it while its input is
   * still close to float). Rules of thumb alone, or error inherited from layers
   * before it, leave it a candidate the user may still try, not a recommendation.
   */
  recommended: boolean;
}

export interface AnalysisThresholds {
  /** accumulated cosine below this marks a layer (documented example: 0.99) */
  accumulatedCosine: number;
  /** isolated sensitivity (0.5 + 0.5·cos) below this marks a layer */
  isolatedSensitivity: number;
  /** layers with fewer parameters (weight + bias elements) than this are "few-parameter" layers */
  fewParameters: number;
  /** weight cosine below this counts as a large weight error */
  weightCosine: number;
}

export const DEFAULT_THRESHOLDS: AnalysisThresholds = {
  accumulatedCosine: 0.99,
  // 0.5 + 0.5·cos = 0.995 is a layer-local cosine of 0.99: the documented
  // accumulated threshold applied to the layer alone.
  isolatedSensitivity: 0.995,
  fewParameters: 1000,
  weightCosine: 0.999,
};

/** What the analyzer warns about (snake_case since report version 2; see analysis-file.ts for older reports). */
export const ANALYSIS_WARNING_CODES = [
  'few_samples', 'fused_rebuilt_differs', 'isolated_failed', 'layer_not_in_float', 'no_provenance', 'no_quantized_layers', 'not_qdq',
  'output_close', 'output_sensitivity_budget', 'qdq_layer', 'stats_unmatched', 'weight_error_failed',
] as const;

export type AnalysisWarningCode = (typeof ANALYSIS_WARNING_CODES)[number];

export interface AnalysisWarning {
  code: AnalysisWarningCode;
  message: string;
  layer?: string;
  tensor?: string;
}

export type AnalysisStage = 'load' | 'data' | 'accumulated' | 'isolated' | 'weights' | 'output-sensitivity' | 'suggest';

export interface AnalysisProgress {
  stage: AnalysisStage;
  done: number;
  total: number;
}

export interface AnalysisReport {
  /** schema version (ANALYSIS_REPORT_VERSION in analysis-file.ts) */
  version: 2;
  createdAt: string;
  floatModel: string;
  quantModel: string;
  /** the float model actually compared (the BN-fused float model when one was given) */
  referenceModel: string;
  statsFile?: string;
  samples: number;
  /** dataset indices of the compared samples */
  sampleIndices: number[];
  thresholds: AnalysisThresholds;
  /** every compared tensor in float-model order */
  tensors: TensorComparison[];
  /** tensors only one model has (listed, not compared) */
  onlyInFloat: string[];
  onlyInQuant: string[];
  /** present in both but not comparable (shape or type differs) */
  notCompared: { name: string; reason: string }[];
  /** quantizable layers of the float reference model, quantized or not, in node order */
  layers: LayerAnalysis[];
  /** model outputs compared (accumulated, the end-to-end error) */
  outputs: { name: string; cosine: number; sqnrDb: number }[];
  suggestions: SkipSuggestion[];
  warnings: AnalysisWarning[];
  /** seconds spent per stage */
  timings: Partial<Record<AnalysisStage, number>>;
}
