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
  /**
   * the If/Loop/Scan body holding the layer (`<node>/<attribute>`, nested ones joined by '/'); absent in
   * the main graph. `name` then starts with it, and the tensor names are the body's own.
   */
  subgraph?: string;
}

/** One If/Loop/Scan body: its nodes and the candidate layers inside it (nested bodies counted in their own entry). */
export interface SubgraphSummary {
  /** `<node>/<attribute>` (the prefix of the layer names inside) */
  path: string;
  /** op type of the node holding it: If, Loop, Scan */
  opType: string;
  nodeCount: number;
  layers: number;
  quantizable: number;
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
  /** nodes holding If/Loop/Scan subgraphs (their layers are listed in `layers`, see `subgraphs`) */
  subgraphNodes: string[];
  /** every body, with its layer counts (its layers are in `layers` too) */
  subgraphs?: SubgraphSummary[];
  layers: QuantizableLayer[];
  quantizableCount: number;
}
