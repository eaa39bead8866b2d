// QDQ export (spec §6): the quantized model as ONNX QuantizeLinear /
// DequantizeLinear pairs around each enabled layer. Activations get Q→DQ
// with the IFMR scale and offset; weights are stored as int8 (ARQ) behind a
// DequantizeLinear; biases as int32 at scale scale_w·scale_d. Every original
// tensor keeps its name (the new ones get derived names), so the float and the
// quantized model can be compared tensor by tensor.
import { QtuneError } from '../../shared/errors';
import {
  DT,
  QUANTIZABLE_OP_TYPES,
  attrInt,
  describeLayer,
  makeNode,
  makeTensor,
  tensorDims,
  tensorToFloat32,
  type GraphIndex,
  type NodeProto,
  type OnnxModel,
  type TensorProto,
} from '../onnx';
import { arqQuantize, quantizeBias } from './arq';

export const QDQ_MIN_OPSET = 13;

export interface QdqLayerSpec {
  /** node name of the layer */
  name: string;
  /** activation quantization of input 0 (IFMR result) */
  activation: { scale: number; offset: number };
  /** per output channel weights (Conv, ConvTranspose only; others are always per tensor) */
  channelWise: boolean;
}

export interface QdqLayerResult {
  name: string;
  opType: string;
  /** float tensor that is quantized (input 0 of the layer) */
  inputTensor: string;
  outputTensor: string;
  /** as stored in the model (float32) */
  scaleD: number;
  offsetD: number;
  /** weight scales (one per channel or one); [1] for AveragePool */
  scaleW: number[];
  offsetW: number[];
  /** axis of per-channel weight scales in the weight tensor, null when per tensor */
  weightAxis: number | null;
  notes: string[];
}

export interface QdqExportResult {
  model: OnnxModel;
  layers: QdqLayerResult[];
}

function constantOf(idx: GraphIndex, name: string | undefined): TensorProto | undefined {
  if (!name) return undefined;
  return idx.initializers.get(name) ?? idx.constants.get(name);
}

/** Quantize/Dequantize helper that names and inserts nodes before an anchor node. */
class QdqBuilder {
  private activationCache = new Map<string, string>();

  constructor(private readonly model: OnnxModel) {}

  private insertBefore(anchor: NodeProto, ...nodes: NodeProto[]): void {
    const at = this.model.graph.nodes.indexOf(anchor);
    this.model.graph.nodes.splice(at, 0, ...nodes);
  }

  private init(base: string, dims: number[], data: Float32Array | Int8Array | Int32Array): string {
    const name = this.model.graph.uniqueName(base);
    this.model.graph.addInitializer(makeTensor(name, dims, data));
    return name;
  }

  /** Q→DQ on an activation tensor; one pair per (tensor, scale, offset). Returns the DQ output name. */
  activation(anchor: NodeProto, tensor: string, scale: number, offset: number): string {
    const key = `${tensor}\u0000${scale}\u0000${offset}`;
    const cached = this.activationCache.get(key);
    if (cached) return cached;
    const g = this.model.graph;
    const s = this.init(`${tensor}_scale`, [], Float32Array.of(scale));
    const z = this.init(`${tensor}_zero_point`, [], Int8Array.of(offset));
    const qOut = g.uniqueName(`${tensor}_QuantizeLinear_Output`);
    const q = makeNode('QuantizeLinear', [tensor, s, z], [qOut], { name: g.uniqueName(`${tensor}_QuantizeLinear`) });
    this.insertBefore(anchor, q);
    const dqOut = g.uniqueName(`${tensor}_DequantizeLinear_Output`);
    const dq = makeNode('DequantizeLinear', [qOut, s, z], [dqOut], { name: g.uniqueName(`${tensor}_DequantizeLinear`) });
    this.insertBefore(anchor, dq);
    this.activationCache.set(key, dqOut);
    return dqOut;
  }

  /** A constant stored quantized (int8 or int32) behind a DequantizeLinear. Returns the DQ output name. */
  constant(anchor: NodeProto, base: string, dims: number[], q: Int8Array | Int32Array, scales: Float32Array, axis: number | null): string {
    const g = this.model.graph;
    const qName = this.init(`${base}_quantized`, dims, q);
    const sName = this.init(`${base}_scale`, axis === null ? [] : [scales.length], axis === null ? scales.subarray(0, 1) : scales);
    const zeros = q instanceof Int8Array ? new Int8Array(axis === null ? 1 : scales.length) : new Int32Array(axis === null ? 1 : scales.length);
    const zName = this.init(`${base}_zero_point`, axis === null ? [] : [scales.length], zeros);
    const out = g.uniqueName(`${base}_DequantizeLinear_Output`);
    const dq = makeNode('DequantizeLinear', [qName, sName, zName], [out], { name: g.uniqueName(`${base}_DequantizeLinear`), attrs: axis === null ? {} : { axis } });
    this.insertBefore(anchor, dq);
    return out;
  }
}

/**
 * A QDQ copy of `model` (the input is not changed) with the given layers
 * quantized. Each layer must be quantizable (spec §4); opset must be ≥ 13.
 */
export function exportQdq(model: OnnxModel, layers: readonly QdqLayerSpec[]): QdqExportResult {
  const file = model.path ?? 'model';
  const opset = model.opsetVersion('') ?? 1;
  if (opset < QDQ_MIN_OPSET) {
    throw new QtuneError('opset_too_old', `${file} uses opset ${opset}; QDQ export needs opset ${QDQ_MIN_OPSET} or newer (upgrade it first)`, { file });
  }
  const out = model.clone();
  const g = out.graph;
  const idx = g.index();
  const b = new QdqBuilder(out);
  const results: QdqLayerResult[] = [];
  for (const spec of layers) {
    const node = g.getNode(spec.name);
    if (!node) throw new QtuneError('layer_not_found', `${file}: no layer named "${spec.name}"`, { file, layer: spec.name });
    const info = describeLayer(node, idx);
    if (!(QUANTIZABLE_OP_TYPES as readonly string[]).includes(info.opType)) {
      throw new QtuneError('layer_not_quantizable', `layer "${spec.name}" is a ${info.opType}, not a quantizable op (${QUANTIZABLE_OP_TYPES.join(', ')})`, { layer: spec.name });
    }
    if (!info.quantizable) throw new QtuneError('layer_not_quantizable', `layer "${spec.name}" (${info.opType}) cannot be quantized: ${info.reason}`, { layer: spec.name });
    const { scale, offset } = spec.activation;
    if (!(scale > 0) || !Number.isFinite(scale) || !Number.isInteger(offset) || offset < -128 || offset > 127) {
      throw new QtuneError('bad_activation_quant', `layer "${spec.name}": activation scale ${scale} / offset ${offset} is not a valid int8 quantization`, { layer: spec.name });
    }
    const scaleD = Math.fround(scale);
    const result: QdqLayerResult = {
      name: spec.name, opType: info.opType, inputTensor: node.input[0], outputTensor: node.output[0],
      scaleD, offsetD: offset, scaleW: [1], offsetW: [0], weightAxis: null, notes: [],
    };
    node.input[0] = b.activation(node, node.input[0], scaleD, offset);

    if (info.opType !== 'AveragePool') {
      const wT = constantOf(idx, node.input[1])!;
      if (wT.dataType !== DT.FLOAT) throw new QtuneError('weight_not_float32', `layer "${spec.name}": weight '${node.input[1]}' is not float32`, { layer: spec.name });
      const shape = tensorDims(wT);
      const op = info.opType;
      const group = attrInt(node, 'group', 1);
      // Per channel only where DequantizeLinear can express it: Conv along axis 0, ConvTranspose along axis 1.
      const channelWise = spec.channelWise && (op === 'Conv' || op === 'ConvTranspose');
      const axis = op === 'ConvTranspose' ? 1 : 0;
      if (channelWise && op === 'ConvTranspose' && group > 1) {
        result.notes.push(`grouped ConvTranspose: one weight scale per weight column (axis 1), shared by the ${group} groups`);
      }
      const arq = arqQuantize(tensorToFloat32(wT), shape, { channelWise, channelAxis: axis, layer: spec.name });
      result.scaleW = Array.from(arq.scales);
      result.offsetW = Array.from(arq.offsets);
      result.weightAxis = arq.axis;
      node.input[1] = b.constant(node, node.input[1], shape, arq.int8, arq.scales, arq.axis);

      const biasName = op === 'MatMul' ? undefined : node.input[2];
      if (biasName) {
        const bT = constantOf(idx, biasName)!;
        if (bT.dataType !== DT.FLOAT) throw new QtuneError('bias_not_float32', `layer "${spec.name}": bias '${biasName}' is not float32`, { layer: spec.name });
        const bias = tensorToFloat32(bT);
        const bDims = tensorDims(bT);
        let wScales = arq.scales;
        if (arq.axis !== null && wScales.length !== bias.length) {
          // grouped ConvTranspose: output channel oc uses column oc mod (Cout / group)
          wScales = Float32Array.from(bias, (_, oc) => arq.scales[oc % arq.scales.length]);
        }
        const q = quantizeBias(bias, wScales, scaleD, { layer: spec.name });
        const bScales = Float32Array.from(wScales, (s) => Math.fround(s * scaleD));
        node.input[2] = b.constant(node, biasName, bDims, q, bScales, arq.axis === null ? null : 0);
      }
    }
    results.push(result);
  }
  g.removeUnusedInitializers();
  return { model: out, layers: results };
}
