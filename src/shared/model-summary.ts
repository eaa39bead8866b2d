// What the engine tells the UI and the CLI about a model before any work is
// done: versions, inputs/outputs, op counts, parameters and which layers can
// be quantized (spec §4), with the reason when one cannot.

export interface SummaryTensor {
  name: string;
  /** element type name: "float32", "int64", ...; "sequence"/"map"/"optional" for non-tensors */
  type: string;
  /** dims; a dynamic dimension is its symbolic name, or "?" when it has none; null when the rank is unknown */
  shape: (number | string)[] | null;
}

/** One Conv/ConvTranspose/Gemm/MatMul/AveragePool/GlobalAveragePool node, as spec §4 sees it. */
export interface QuantizableLayer {
  /** deterministic node name (the config.json key) */
  name: string;
  opType: string;
  quantizable: boolean;
  /** why not, when quantizable is false */
  reason?: string;
  /** the activation that gets quantized (input 0) */
  inputTensor: string;
  outputTensor: string;
  /** weight tensor (initializer or Constant output), when the op has one */
  weightName?: string;
  biasName?: string;
  weightShape?: number[];
  /** weight + bias elements */
  paramCount: number;
  /** weight axis holding output channels (Conv 0, ConvTranspose 1, Gemm transB=1 0, MatMul/Gemm transB=0 last) */
  channelAxis?: number;
  /** spatial rank of the kernel (Conv 1/2/3, ConvTranspose 2, AveragePool its kernel_shape length) */
  kernelDims?: number;
}

export interface ModelSummary {
  path: string;
  sizeBytes: number;
  irVersion: number;
  /** opset of the default ONNX domain */
  opset: number;
  opsetImports: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  inputs: SummaryTensor[];
  outputs: SummaryTensor[];
  nodeCount: number;
  /** op type → count, top-level graph only */
  opCounts: Record<string, number>;
  /** elements in initializers and Constant-node tensors */
  paramCount: number;
  /** nodes holding If/Loop/Scan subgraphs (left as they are, never quantized) */
  subgraphNodes: string[];
  layers: QuantizableLayer[];
  quantizableCount: number;
}
