// Types of config.json (the quantization configuration a user edits) and of
// the settings the engine derives from it. Field names in the file follow the
// documented snake_case names; the resolved forms are camelCase.

/** `activation_quant_params` of one layer, as written in the file (all optional). */
export interface ActivationQuantParams {
  max_percentile?: number;
  min_percentile?: number;
  search_range?: [number, number];
  search_step?: number;
  act_algo?: 'ifmr';
  asymmetric?: boolean;
}

/** `weight_quant_params` of one layer, as written in the file (all optional). */
export interface WeightQuantParams {
  wts_algo?: 'arq_quantize';
  channel_wise?: boolean;
}

/** One layer entry of the file, keyed by the layer (ONNX node) name. */
export interface LayerQuantConfig {
  quant_enable?: boolean;
  activation_quant_params?: ActivationQuantParams;
  weight_quant_params?: WeightQuantParams;
}

/**
 * config.json in memory. In the file the layer entries sit at the top level
 * beside the global fields; here they are gathered under `layers` (in file order).
 */
export interface QuantConfig {
  version: 1;
  batch_num: number;
  activation_offset: boolean;
  do_fusion: boolean;
  skip_fusion_layers: string[];
  layers: Record<string, LayerQuantConfig>;
}

/** The global (non-layer) keys of config.json. */
export const GLOBAL_CONFIG_KEYS = ['version', 'batch_num', 'activation_offset', 'do_fusion', 'skip_fusion_layers'] as const;

/** IFMR parameters with every default filled in. */
export interface IfmrParams {
  maxPercentile: number;
  minPercentile: number;
  searchRange: [number, number];
  searchStep: number;
  asymmetric: boolean;
}

/** ARQ parameters with every default filled in. */
export interface ArqParams {
  channelWise: boolean;
}

/** What the engine applies to one enabled layer. */
export interface ResolvedLayerConfig {
  name: string;
  activation: IfmrParams & { actAlgo: 'ifmr' };
  weight: ArqParams & { wtsAlgo: 'arq_quantize' };
}

/** One problem found in a config file; `path` is a JSON path such as `$["conv1"].activation_quant_params.search_step`. */
export interface ConfigIssue {
  path: string;
  message: string;
  /** closest existing names, for a misspelt layer name */
  suggestions?: string[];
}

export const DEFAULT_ACTIVATION_PARAMS = {
  max_percentile: 0.999999,
  min_percentile: 0.999999,
  search_range: [0.7, 1.3] as [number, number],
  search_step: 0.01,
  act_algo: 'ifmr' as const,
};

export const DEFAULT_GLOBALS = {
  version: 1 as const,
  batch_num: 1,
  activation_offset: true,
  do_fusion: true,
};

/** Ops whose weights may be quantized per output channel; channel_wise defaults to true for them. */
export const CHANNEL_WISE_OPS: readonly string[] = ['Conv', 'ConvTranspose'];
/** Ops for which channel_wise must be false. */
export const PER_TENSOR_OPS: readonly string[] = ['Gemm', 'MatMul', 'AveragePool'];
