// Which layers can be quantized, per spec §4, and why not when they cannot.
import { notQuantizableText, type NotQuantizableReason, type QuantizableLayer } from '../../shared/model-summary';
import { attrFloat, attrInt, attrInts } from './attrs';
import { Graph, type GraphIndex, type OnnxModel } from './model';
import { bodiesOf, scopedNodeName, scopeIndex, type Scope } from './subgraphs';
import { constantValue, dependsOnData } from './const-fold';
import { elemTypeOf } from './elem-type';
import { DT, type NodeProto } from './proto';
import { elemTypeName, numElements, tensorDims } from './tensor';

export type LayerInfo = QuantizableLayer;

export const QUANTIZABLE_OP_TYPES = ['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'AveragePool'] as const;
/** ops listed with a reason even though they never quantize, so users see why */
const LISTED_OP_TYPES = new Set<string>([...QUANTIZABLE_OP_TYPES, 'GlobalAveragePool']);

/** The constant tensor behind `name`: an initializer, a Constant output, or an expression of them. */
const constantOf = constantValue;

/**
 * Layers spec §4 talks about, in node order; the layers inside an If/Loop/Scan body follow their
 * control-flow node, named by scope (`branch/then_branch/conv1`, see subgraphs.ts) and marked with it.
 */
export function findQuantizableLayers(model: OnnxModel, idx: GraphIndex = model.graph.index()): LayerInfo[] {
  const out: LayerInfo[] = [];
  const walk = (scope: Scope, scopeIdx: GraphIndex) => {
    for (const node of scope.graph.nodes) {
      if ((node.domain ?? '') === '' && LISTED_OP_TYPES.has(node.opType ?? '')) {
        const info = describeLayer(node, scopeIdx);
        if (scope.owner) {
          info.name = scopedNodeName(scope, info.name);
          info.subgraph = scope.path;
        }
        out.push(info);
      }
      for (const b of bodiesOf(node)) {
        const body: Scope = { path: scopedNodeName(scope, `${node.name ?? ''}/${b.attr}`), graph: new Graph(b.graph), owner: node, ownerScope: scope, attr: b.attr };
        walk(body, scopeIndex(body));
      }
    }
  };
  walk({ path: '', graph: model.graph }, idx);
  return out;
}

export function describeLayer(node: NodeProto, idx: GraphIndex): LayerInfo {
  const op = node.opType ?? '';
  const info: LayerInfo = {
    name: node.name ?? '', opType: op, quantizable: false,
    inputTensor: node.input[0] ?? '', outputTensor: node.output[0] ?? '', paramCount: 0,
  };
  const reasons: NotQuantizableReason[] = [];
  const weightName = node.input[1] || undefined;
  const biasName = (op === 'Conv' || op === 'ConvTranspose' || op === 'Gemm') && node.input[2] ? node.input[2] : undefined;
  const weight = op === 'AveragePool' || op === 'GlobalAveragePool' ? undefined : constantOf(idx, weightName);

  if (weightName && op !== 'AveragePool' && op !== 'GlobalAveragePool') {
    info.weightName = weightName;
    if (!weight && dependsOnData(idx, weightName)) reasons.push({ code: 'weight_from_data', tensor: weightName });
    else if (!weight) reasons.push({ code: 'weight_not_constant', tensor: weightName });
  }
  if (weight) {
    info.weightShape = tensorDims(weight);
    info.paramCount += numElements(info.weightShape);
    if (weight.dataType !== DT.FLOAT) reasons.push({ code: 'weight_not_float', tensor: weightName ?? '', type: elemTypeName(weight.dataType) });
  }
  if (biasName) {
    info.biasName = biasName;
    const bias = constantOf(idx, biasName);
    if (bias) {
      info.paramCount += numElements(tensorDims(bias));
      if (bias.dataType !== DT.FLOAT) reasons.push({ code: 'bias_not_float', tensor: biasName, type: elemTypeName(bias.dataType) });
    } else reasons.push({ code: 'bias_not_constant', tensor: biasName });
  }
  // Activations are calibrated and exported as float32 (QuantizeLinear takes float32 before opset 19): a float16
  // model's layers stay float, said per layer, rather than failing the whole calibration.
  const inputType = info.inputTensor ? elemTypeOf(idx, info.inputTensor) : undefined;
  if (inputType !== undefined && inputType !== DT.FLOAT && LISTED_OP_TYPES.has(op) && op !== 'GlobalAveragePool') {
    // one reason for a layer that is float16 throughout, not one per tensor
    const type = elemTypeName(inputType);
    const same = reasons.filter((r) => (r.code === 'weight_not_float' || r.code === 'bias_not_float') && r.type === type);
    const kept = reasons.filter((r) => !same.includes(r));
    reasons.length = 0;
    const withConstants = same.length === 0 ? 'none' : same.some((r) => r.code === 'bias_not_float') && same.length > 1 ? 'weight_bias' : 'weight';
    reasons.push({ code: 'input_not_float', tensor: info.inputTensor, type, with: withConstants }, ...kept);
  }
  const rank = info.weightShape?.length;

  switch (op) {
    case 'Conv': {
      info.channelAxis = 0;
      if (rank !== undefined) {
        info.kernelDims = rank - 2;
        if (rank < 3 || rank > 5) reasons.push({ code: 'conv_kernel', dims: rank - 2 });
      }
      const readers = weightName ? idx.consumers.get(weightName) ?? [] : [];
      if (readers.length > 1) {
        const others = readers.filter((r) => r !== node).map((r) => r.name);
        reasons.push({ code: 'weight_shared', tensor: weightName ?? '', count: others.length, nodes: `${others.slice(0, 3).join(', ')}${others.length > 3 ? ', ...' : ''}` });
      }
      break;
    }
    case 'ConvTranspose':
      info.channelAxis = 1;
      if (rank !== undefined) {
        info.kernelDims = rank - 2;
        if (rank !== 4) reasons.push({ code: 'conv_transpose_kernel', dims: rank - 2 });
      }
      break;
    case 'Gemm': {
      const transA = attrInt(node, 'transA', 0);
      const transB = attrInt(node, 'transB', 0);
      const alpha = attrFloat(node, 'alpha', 1);
      const beta = attrFloat(node, 'beta', 1);
      if (transA !== 0) reasons.push({ code: 'gemm_trans_a', value: transA });
      if (alpha !== 1) reasons.push({ code: 'gemm_alpha', value: alpha });
      if (beta !== 1 && biasName) reasons.push({ code: 'gemm_beta', value: beta });
      info.channelAxis = transB ? 0 : 1;
      if (rank !== undefined && rank !== 2) reasons.push({ code: 'gemm_rank', rank });
      break;
    }
    case 'MatMul':
      if (rank !== undefined) {
        info.channelAxis = rank - 1;
        if (rank !== 2) reasons.push({ code: 'matmul_rank', rank });
      }
      break;
    case 'AveragePool': {
      const kernel = attrInts(node, 'kernel_shape');
      info.kernelDims = kernel?.length;
      if (kernel?.length !== 2) reasons.push({ code: 'average_pool_input', dims: kernel ? kernel.length + 2 : '?' });
      break;
    }
    case 'GlobalAveragePool':
      reasons.push({ code: 'global_average_pool' });
      break;
  }
  info.quantizable = reasons.length === 0;
  if (reasons.length > 0) {
    info.reason = reasons.map(notQuantizableText).join('; ');
    info.why = reasons;
  }
  return info;
}
