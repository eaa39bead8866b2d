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
  /** why not, when quantizable is false: in English (the CLI) … */
  reason?: string;
  /** … and as codes with their values (the app words them) */
  why?: NotQuantizableReason[];
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

/** One reason a layer cannot be quantized (spec §4): a code and the values the sentence needs. */
export type NotQuantizableReason =
  | { code: 'weight_from_data' | 'weight_not_constant' | 'bias_not_constant'; tensor: string }
  | { code: 'weight_not_float' | 'bias_not_float'; tensor: string; type: string }
  | { code: 'conv_kernel' | 'conv_transpose_kernel' | 'average_pool_input'; dims: number | string }
  | { code: 'weight_shared'; tensor: string; count: number; nodes: string }
  | { code: 'gemm_trans_a' | 'gemm_alpha' | 'gemm_beta'; value: number }
  | { code: 'gemm_rank' | 'matmul_rank'; rank: number }
  | { code: 'global_average_pool' }
  /** a float16 (or other non-float32) layer; `with` lists the layer's constants of the same type */
  | { code: 'input_not_float'; tensor: string; type: string; with: 'none' | 'weight' | 'weight_bias' };

/** The reason in English, as the CLI prints it. */
export function notQuantizableText(r: NotQuantizableReason): string {
  switch (r.code) {
    case 'weight_from_data': return `input 1 '${r.tensor}' is computed from the data, not a constant weight (a product of two activations, such as attention scores)`;
    case 'weight_not_constant': return `weight '${r.tensor}' is not a constant (not an initializer, a Constant, or computed from them alone)`;
    case 'bias_not_constant': return `bias '${r.tensor}' is not a constant`;
    case 'weight_not_float': return `weight '${r.tensor}' is ${r.type} (only float32 weights are quantized)`;
    case 'bias_not_float': return `bias '${r.tensor}' is ${r.type} (only float32 biases are quantized)`;
    case 'conv_kernel': return `Conv with a ${r.dims}-D kernel (only 1-D, 2-D and 3-D are quantizable)`;
    case 'conv_transpose_kernel': return `ConvTranspose with a ${r.dims}-D kernel (only 2-D is quantizable)`;
    case 'average_pool_input': return `AveragePool on a ${r.dims}-D input (only 4-D inputs are quantizable)`;
    case 'weight_shared': return `weight '${r.tensor}' is shared with ${r.count} other node(s): ${r.nodes}`;
    case 'gemm_trans_a': return `Gemm with transA=${r.value} (only transA=0 is quantizable)`;
    case 'gemm_alpha': return `Gemm with alpha=${r.value} (only alpha=1 is quantizable)`;
    case 'gemm_beta': return `Gemm with beta=${r.value} (only beta=1 is quantizable)`;
    case 'gemm_rank': return `Gemm weight has rank ${r.rank}, expected 2`;
    case 'matmul_rank': return `MatMul's second input is a ${r.rank}-D constant (only 2-D is quantizable)`;
    case 'global_average_pool': return 'global average pooling is not quantizable (only AveragePool with a kernel over a 4-D input)';
    case 'input_not_float': {
      const also = r.with === 'weight_bias' ? ', weight and bias are' : r.with === 'weight' ? ' and weight are' : ' is';
      return `input '${r.tensor}'${also} ${r.type} (only float32 layers are quantized; convert the model to float32 to quantize it)`;
    }
  }
}
