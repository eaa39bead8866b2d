// Which layers can be quantized, per spec §4, and why not when they cannot.
import type { QuantizableLayer } from '../../shared/model-summary';
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
  const reasons: string[] = [];
  const weightName = node.input[1] || undefined;
  const biasName = (op === 'Conv' || op === 'ConvTranspose' || op === 'Gemm') && node.input[2] ? node.input[2] : undefined;
  const weight = op === 'AveragePool' || op === 'GlobalAveragePool' ? undefined : constantOf(idx, weightName);

  if (weightName && op !== 'AveragePool' && op !== 'GlobalAveragePool') {
    info.weightName = weightName;
    if (!weight && dependsOnData(idx, weightName)) reasons.push(`input 1 '${weightName}' is computed from the data, not a constant weight (a product of two activations, such as attention scores)`);
    else if (!weight) reasons.push(`weight '${weightName}' is not a constant (not an initializer, a Constant, or computed from them alone)`);
  }
  if (weight) {
    info.weightShape = tensorDims(weight);
    info.paramCount += numElements(info.weightShape);
    if (weight.dataType !== DT.FLOAT) reasons.push(`weight '${weightName}' is ${elemTypeName(weight.dataType)} (only float32 weights are quantized)`);
  }
  if (biasName) {
    info.biasName = biasName;
    const bias = constantOf(idx, biasName);
    if (bias) {
      info.paramCount += numElements(tensorDims(bias));
      if (bias.dataType !== DT.FLOAT) reasons.push(`bias '${biasName}' is ${elemTypeName(bias.dataType)} (only float32 biases are quantized)`);
    } else reasons.push(`bias '${biasName}' is not a constant`);
  }
  // Activations are calibrated and exported as float32 (QuantizeLinear takes float32 before opset 19): a float16
  // model's layers stay float, said per layer, rather than failing the whole calibration.
  const inputType = info.inputTensor ? elemTypeOf(idx, info.inputTensor) : undefined;
  if (inputType !== undefined && inputType !== DT.FLOAT && LISTED_OP_TYPES.has(op) && op !== 'GlobalAveragePool') {
    // one reason for a layer that is float16 throughout, not one per tensor
    const type = elemTypeName(inputType);
    const same = reasons.filter((r) => r.includes(` is ${type} (only float32 `));
    const kept = reasons.filter((r) => !same.includes(r));
    reasons.length = 0;
    reasons.push(`input '${info.inputTensor}'${same.length ? `, weight${info.biasName && same.length > 1 ? ' and bias' : ''}` : ''} ${same.length ? 'are' : 'is'} ${type} ` +
      '(only float32 layers are quantized; convert the model to float32 to quantize it)', ...kept);
  }
  const rank = info.weightShape?.length;

  switch (op) {
    case 'Conv': {
      info.channelAxis = 0;
      if (rank !== undefined) {
        info.kernelDims = rank - 2;
        if (rank < 3 || rank > 5) reasons.push(`Conv with a ${rank - 2}-D kernel (only 1-D, 2-D and 3-D are quantizable)`);
      }
      const readers = weightName ? idx.consumers.get(weightName) ?? [] : [];
      if (readers.length > 1) {
        const others = readers.filter((r) => r !== node).map((r) => r.name);
        reasons.push(`weight '${weightName}' is shared with ${others.length} other node(s): ${others.slice(0, 3).join(', ')}${others.length > 3 ? ', ...' : ''}`);
      }
      break;
    }
    case 'ConvTranspose':
      info.channelAxis = 1;
      if (rank !== undefined) {
        info.kernelDims = rank - 2;
        if (rank !== 4) reasons.push(`ConvTranspose with a ${rank - 2}-D kernel (only 2-D is quantizable)`);
      }
      break;
    case 'Gemm': {
      const transA = attrInt(node, 'transA', 0);
      const transB = attrInt(node, 'transB', 0);
      const alpha = attrFloat(node, 'alpha', 1);
      const beta = attrFloat(node, 'beta', 1);
      if (transA !== 0) reasons.push(`Gemm with transA=${transA} (only transA=0 is quantizable)`);
      if (alpha !== 1) reasons.push(`Gemm with alpha=${alpha} (only alpha=1 is quantizable)`);
      if (beta !== 1 && biasName) reasons.push(`Gemm with beta=${beta} (only beta=1 is quantizable)`);
      info.channelAxis = transB ? 0 : 1;
      if (rank !== undefined && rank !== 2) reasons.push(`Gemm weight has rank ${rank}, expected 2`);
      break;
    }
    case 'MatMul':
      if (rank !== undefined) {
        info.channelAxis = rank - 1;
        if (rank !== 2) reasons.push(`MatMul's second input is a ${rank}-D constant (only 2-D is quantizable)`);
      }
      break;
    case 'AveragePool': {
      const kernel = attrInts(node, 'kernel_shape');
      info.kernelDims = kernel?.length;
      if (kernel?.length !== 2) reasons.push(`AveragePool on a ${kernel ? kernel.length + 2 : '?'}-D input (only 4-D inputs are quantizable)`);
      break;
    }
    case 'GlobalAveragePool':
      reasons.push('global average pooling is not quantizable (only AveragePool with a kernel over a 4-D input)');
      break;
  }
  info.quantizable = reasons.length === 0;
  if (reasons.length > 0) info.reason = reasons.join('; ');
  return info;
}
