// Reading a QDQ model back: which layers are quantized, the float tensor
// each one quantizes, its activation scale / zero point, and its int8
// weights with their scales. The export keeps original tensor names, so a
// quantized layer is a quantizable node (same name as in the float model)
// whose input 0 comes out of QuantizeLinear → DequantizeLinear.
import { QtuneError } from '../../shared/errors';
import { QUANTIZABLE_OP_TYPES, attrInt, tensorDims, tensorToFloat32, tensorToTypedArray, type GraphIndex, type NodeProto, type OnnxModel, type TensorProto } from '../onnx';

export interface QdqWeight {
  /** the tensor name the layer reads (DequantizeLinear output) */
  tensor: string;
  int8: Int8Array;
  shape: number[];
  scales: Float32Array;
  zeroPoints: Int32Array;
  /** axis of per-channel scales; undefined for per-tensor */
  axis?: number;
}

export interface QdqLayer {
  name: string;
  opType: string;
  node: NodeProto;
  /** the float tensor that goes into the activation QuantizeLinear */
  inputTensor: string;
  outputTensor: string;
  actScale: number;
  actZeroPoint: number;
  weight?: QdqWeight;
}

export interface QdqModelInfo {
  layers: QdqLayer[];
  /** QuantizeLinear / DequantizeLinear nodes in the graph */
  qdqNodeCount: number;
  /** problems found while reading (a layer whose Q/DQ could not be understood) */
  warnings: { layer: string; message: string }[];
}

const QUANTIZABLE = new Set<string>(QUANTIZABLE_OP_TYPES);

function constant(idx: GraphIndex, name: string | undefined): TensorProto | undefined {
  if (!name) return undefined;
  return idx.initializers.get(name) ?? idx.constants.get(name);
}

function producedBy(idx: GraphIndex, tensor: string | undefined, opType: string): NodeProto | undefined {
  const p = tensor ? idx.producers.get(tensor) : undefined;
  return p && p.opType === opType && (p.domain ?? '') === '' ? p : undefined;
}

function scalarOf(t: TensorProto | undefined, fallback: number): number {
  if (!t) return fallback;
  const a = tensorToTypedArray(t, { float16AsFloat32: true }) as ArrayLike<number>;
  return Number(a[0]);
}

/** The int8 weight behind a DequantizeLinear, or undefined when it is not one (a float weight). */
function readWeight(idx: GraphIndex, tensor: string, layer: string): QdqWeight | undefined {
  const dq = producedBy(idx, tensor, 'DequantizeLinear');
  if (!dq) return undefined;
  const q = constant(idx, dq.input[0]);
  const scale = constant(idx, dq.input[1]);
  if (!q || !scale) {
    throw new QtuneError('analyze_qdq', `layer '${layer}': the weight DequantizeLinear '${dq.name}' does not read constant int8 data and scale`, { layer });
  }
  const raw = tensorToTypedArray(q);
  if (!(raw instanceof Int8Array || raw instanceof Uint8Array)) {
    throw new QtuneError('analyze_qdq', `layer '${layer}': weight '${dq.input[0]}' is not int8/uint8`, { layer });
  }
  const shape = tensorDims(q);
  const scales = Float32Array.from(tensorToFloat32(scale));
  const zpT = constant(idx, dq.input[2]);
  const zeroPoints = zpT ? Int32Array.from(tensorToTypedArray(zpT) as ArrayLike<number>, Number) : new Int32Array(scales.length);
  const perChannel = scales.length > 1 || tensorDims(scale).length === 1;
  const axisAttr = attrInt(dq, 'axis', 1);
  const axis = perChannel ? (axisAttr < 0 ? axisAttr + shape.length : axisAttr) : undefined;
  // uint8 weights hold the same codes shifted by 128 with zero point 128; keep the raw codes in Int8 only when signed
  const int8 = raw instanceof Int8Array ? raw : Int8Array.from(raw, (v) => v - 128);
  const zp = raw instanceof Int8Array ? zeroPoints : Int32Array.from(zeroPoints, (v) => v - 128);
  return { tensor, int8, shape, scales, zeroPoints: zp, axis };
}

/** Every quantized layer of a QDQ model, in node order. */
export function readQdqLayers(quant: OnnxModel): QdqModelInfo {
  const idx = quant.graph.index();
  const layers: QdqLayer[] = [];
  const warnings: QdqModelInfo['warnings'] = [];
  let qdqNodeCount = 0;
  for (const node of quant.graph.nodes) {
    if ((node.domain ?? '') === '' && (node.opType === 'QuantizeLinear' || node.opType === 'DequantizeLinear')) qdqNodeCount++;
  }
  for (const node of quant.graph.nodes) {
    if ((node.domain ?? '') !== '' || !QUANTIZABLE.has(node.opType ?? '')) continue;
    const dq = producedBy(idx, node.input[0], 'DequantizeLinear');
    const q = dq ? producedBy(idx, dq.input[0], 'QuantizeLinear') : undefined;
    if (!dq || !q) continue;
    const name = node.name ?? '';
    try {
      const weight = node.opType === 'AveragePool' || !node.input[1] ? undefined : readWeight(idx, node.input[1], name);
      layers.push({
        name,
        opType: node.opType ?? '',
        node,
        inputTensor: q.input[0],
        outputTensor: node.output[0],
        actScale: scalarOf(constant(idx, q.input[1]), 1),
        actZeroPoint: scalarOf(constant(idx, q.input[2]), 0),
        weight,
      });
    } catch (e) {
      if (!(e instanceof QtuneError)) throw e;
      warnings.push({ layer: name, message: e.message });
    }
  }
  return { layers, qdqNodeCount, warnings };
}

/** Float copy of int8 weights: (q − zero point) · scale, per channel along `axis`. */
export function dequantizeWeight(w: QdqWeight): Float32Array {
  const out = new Float32Array(w.int8.length);
  if (w.axis === undefined) {
    const s = w.scales[0], z = w.zeroPoints[0] ?? 0;
    for (let i = 0; i < out.length; i++) out[i] = Math.fround((w.int8[i] - z) * s);
    return out;
  }
  let inner = 1;
  for (let d = w.axis + 1; d < w.shape.length; d++) inner *= w.shape[d];
  const dim = w.shape[w.axis];
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / inner) % dim;
    out[i] = Math.fround((w.int8[i] - (w.zeroPoints[c] ?? 0)) * w.scales[c]);
  }
  return out;
}
