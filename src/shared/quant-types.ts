// What a quantization run produces, as the UI and the analyzer read it: the
// per-layer activation statistics file (<name>_stats.json), progress events,
// and the result summary.

/** Equal-width histogram of a float activation over [min, max]. */
export interface ActivationHistogram {
  min: number;
  max: number;
  counts: number[];
}

/** One enabled layer's calibration: input statistics, the IFMR search, and the chosen quantization. */
export interface LayerQuantStats {
  name: string;
  opType: string;
  /** the float tensor quantized (input 0 of the layer) */
  inputTensor: string;
  outputTensor: string;
  /** number of activation values calibrated over */
  count: number;
  min: number;
  max: number;
  histogram: ActivationHistogram;
  /** IFMR step 1: percentile initial clip values */
  maxInit: number;
  minInit: number;
  /** the IFMR search: ratio per candidate, mean squared error per candidate, the chosen index */
  candidates: number[];
  losses: number[];
  bestIndex: number;
  /** chosen clip range */
  clipMin: number;
  clipMax: number;
  /** activation scale / offset (float32 as stored in the model) */
  scale: number;
  offset: number;
  asymmetric: boolean;
  /** true when IFMR ran on a histogram because the data exceeded the memory budget */
  approximate: boolean;
  /** ARQ weight scales (one per channel, or one); [1] for AveragePool */
  weightScales: number[];
  weightOffsets: number[];
  /** axis of per-channel weight scales, null when per tensor */
  weightAxis: number | null;
  channelWise: boolean;
}

/** <name>_stats.json */
export interface QuantStatsFile {
  version: 1;
  /** the model quantized (path as given) */
  model: string;
  batchNum: number;
  batchSize: number;
  samples: number;
  layers: LayerQuantStats[];
}

export type QuantizeStage = 'load' | 'fuse' | 'calibrate' | 'ifmr' | 'ranges' | 'export' | 'write';

export interface QuantizeProgress {
  stage: QuantizeStage;
  done: number;
  total: number;
  /** calibration: pass p of P when the activations do not fit memory at once */
  pass?: number;
  passes?: number;
  /** ifmr: the layer being searched */
  layer?: string;
}

/** Absolute paths of what a run wrote. */
export interface QuantizeFiles {
  quantModel: string;
  fusedFloatModel: string;
  record: string;
  config: string;
  stats: string;
}

export interface QuantizedLayerSummary {
  name: string;
  opType: string;
  enabled: boolean;
  scale?: number;
  offset?: number;
  approximate?: boolean;
  /** why it stayed float, when not enabled */
  reason?: string;
}

export interface QuantizeResult {
  files: QuantizeFiles;
  layers: QuantizedLayerSummary[];
  fusion: { fused: { conv: string; bn: string }[]; skipped: { name: string; reason: string }[] };
  calibration: { batches: number; batchSize: number; samples: number; passes: number; approximateLayers: string[] };
  /** the opset the model was upgraded from, when it was below 13 */
  opsetUpgradedFrom?: number;
  /** layers whose weights are stored as uint8 because this CPU's int8-weight kernel saturated on them */
  uint8Weights?: Uint8WeightLayers;
  /** one line per fact for people, in English (the CLI); the facts above also exist as fields */
  notes: string[];
  durationMs: number;
}

export interface Uint8WeightLayers {
  layers: number;
  of: number;
  /** percent of a layer's output values allowed to saturate */
  tolerancePercent: number;
  /** of `layers`, those inside If/Loop/Scan bodies: the check does not reach them, they take the exact kernel unchecked */
  inBodies?: number;
}

export function uint8WeightsNote(u: Uint8WeightLayers): string {
  return `${u.layers} of ${u.of} layers store uint8 weights (zero point 128, same values): on this CPU (no VNNI) onnxruntime's int8-weight kernel for them saturated on more than ${u.tolerancePercent}% of their output values on the calibration data; the others keep the faster int8 kernel (rare saturations there show in the runtime parity check)${u.inBodies ? `; ${u.inBodies} of them sit inside If/Loop/Scan bodies, which the check does not reach, and use the exact kernel unchecked` : ''}`;
}
