// QDQ export (spec §6): the quantized model as ONNX QuantizeLinear /
// DequantizeLinear pairs around each enabled layer. Activations get Q→DQ
// with the IFMR scale and offset; weights are stored as int8 (ARQ) behind a
// DequantizeLinear; biases as int32 at scale scale_w·scale_d. Every original
// tensor keeps its name (the new ones get derived names), so the float and the
// quantized model can be compared tensor by tensor.
//
// Two layouts (`target`), same record-file numbers:
// - generic-qdq: int8 activations, one Q→DQ in front of each layer, nothing else.
// - ort-cpu (default): what onnxruntime on x86 runs as integer kernels: uint8
//   activations (AMCT offset o = zero point o + 128), and each layer's output
//   quantized again where its consumers are quantized (see qdq-plan.ts).
//   Weights int8 or uint8 (`weights`, same values either way).
import { QtuneError } from '../../shared/errors';
import { runStepsSync, type Steps } from '../cancel';
import {
  DT,
  QUANTIZABLE_OP_TYPES,
  attrInt,
  constantValue,
  allTensorNames,
  describeLayer,
  freshName,
  graphScopes,
  makeNode,
  makeTensor,
  tensorDims,
  resolveScopedNode,
  scopeIndex,
  scopeModel,
  tensorToFloat32,
  type GraphIndex,
  type NodeProto,
  type OnnxModel,
} from '../onnx';
import { arqQuantize, quantizeBias, type ArqResult } from './arq';
import { quantizeValue } from './fake-quant';
import { planQdq, u8FromAmct, type TensorRange, type U8Params } from './qdq-plan';

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
  /** ort-cpu: tensors quantized beyond the layer inputs, and from what (notes for the run) */
  extraQuantized?: { tensor: string; source: 'layout' | 'range' }[];
}

export const EXPORT_TARGETS = ['ort-cpu', 'generic-qdq'] as const;
export type ExportTarget = (typeof EXPORT_TARGETS)[number];
export const DEFAULT_EXPORT_TARGET: ExportTarget = 'ort-cpu';

export interface QdqExportOptions {
  /** default ort-cpu */
  target?: ExportTarget;
  /** ort-cpu: measured ranges of the tensors `tensorsNeedingRanges` lists (missing ones stay float) */
  ranges?: ReadonlyMap<string, TensorRange>;
  /** ort-cpu: how weights are stored (default int8); see WeightStorage */
  weights?: WeightStorage;
  /** ort-cpu with int8 weights: layers whose weights are stored as uint8 all the same (their int8 kernel saturates here) */
  uint8WeightLayers?: ReadonlySet<string>;
  /**
   * ARQ results by layer, filled here and reused by a later export of the same model and layers (the
   * export that stores some weights as uint8 after the saturation check quantizes the same weights).
   */
  arqResults?: Map<string, ArqResult>;
}

/**
 * ort-cpu weight storage. int8: onnxruntime's fast U8S8 kernels (exact with VNNI;
 * on AVX2-only x86 they add pairs of products in int16 and can saturate). uint8
 * (int8 w stored as w + 128 with zero point 128, the same values): its U8U8
 * kernels, exact on every CPU, slower where U8S8 has a fast path.
 */
export type WeightStorage = 'int8' | 'uint8';

export function parseExportTarget(v: string | undefined, where = '--target'): ExportTarget {
  if (v === undefined) return DEFAULT_EXPORT_TARGET;
  if ((EXPORT_TARGETS as readonly string[]).includes(v)) return v as ExportTarget;
  throw new QtuneError('bad_target', `${where}: unknown export target '${v}' (use one of ${EXPORT_TARGETS.join(', ')})`, { path: where });
}

/** weights may be expressions of constants when the model was not prepared (materializeWeightExpressions) */
const constantOf = constantValue;

/** Quantize/Dequantize helper that names and inserts nodes before an anchor node. */
class QdqBuilder {
  private activationCache = new Map<string, string>();

  /** `used`: every name in the whole model, bodies included (a new name must be unique across all of them) */
  constructor(private readonly model: OnnxModel, private readonly used: Set<string>) {}

  private fresh(base: string): string {
    const name = freshName(base, (x) => this.used.has(x));
    this.used.add(name);
    return name;
  }

  private insertBefore(anchor: NodeProto, ...nodes: NodeProto[]): void {
    const at = this.model.graph.nodes.indexOf(anchor);
    this.model.graph.nodes.splice(at, 0, ...nodes);
  }

  private init(base: string, dims: number[], data: Float32Array | Int8Array | Uint8Array | Int32Array): string {
    const name = this.fresh(base);
    this.model.graph.addInitializer(makeTensor(name, dims, data));
    return name;
  }

  /**
   * Q→DQ on an activation tensor; one pair per (tensor, scale, zero point, type).
   * Returns the DQ output name. `zeroPoint` is an int8 offset, or a uint8 zero point when `uint8`.
   */
  activation(anchor: NodeProto, tensor: string, scale: number, zeroPoint: number, uint8 = false): string {
    const key = `${tensor}\u0000${scale}\u0000${zeroPoint}\u0000${uint8}`;
    const cached = this.activationCache.get(key);
    if (cached) return cached;
    const s = this.init(`${tensor}_scale`, [], Float32Array.of(scale));
    const z = this.init(`${tensor}_zero_point`, [], uint8 ? Uint8Array.of(zeroPoint) : Int8Array.of(zeroPoint));
    const qOut = this.fresh(`${tensor}_QuantizeLinear_Output`);
    const q = makeNode('QuantizeLinear', [tensor, s, z], [qOut], { name: this.fresh(`${tensor}_QuantizeLinear`) });
    this.insertBefore(anchor, q);
    const dqOut = this.fresh(`${tensor}_DequantizeLinear_Output`);
    const dq = makeNode('DequantizeLinear', [qOut, s, z], [dqOut], { name: this.fresh(`${tensor}_DequantizeLinear`) });
    this.insertBefore(anchor, dq);
    this.activationCache.set(key, dqOut);
    return dqOut;
  }

  /** A constant stored quantized (int8 or int32) behind a DequantizeLinear. Returns the DQ output name. */
  constant(anchor: NodeProto, base: string, dims: number[], q: Int8Array | Int32Array, scales: Float32Array, axis: number | null, uint8 = false): string {
    if (uint8 && q instanceof Int8Array) {
      // int8 code c with zero point 0 is uint8 code c + 128 with zero point 128: the same dequantized values
      const n = axis === null ? 1 : scales.length;
      const qName = this.init(`${base}_quantized`, dims, Uint8Array.from(q, (v) => v + 128));
      const sName = this.init(`${base}_scale`, axis === null ? [] : [n], axis === null ? scales.subarray(0, 1) : scales);
      const zName = this.init(`${base}_zero_point`, axis === null ? [] : [n], new Uint8Array(n).fill(128));
      const out = this.fresh(`${base}_DequantizeLinear_Output`);
      this.insertBefore(anchor, makeNode('DequantizeLinear', [qName, sName, zName], [out], { name: this.fresh(`${base}_DequantizeLinear`), attrs: axis === null ? {} : { axis } }));
      return out;
    }
    const qName = this.init(`${base}_quantized`, dims, q);
    const sName = this.init(`${base}_scale`, axis === null ? [] : [scales.length], axis === null ? scales.subarray(0, 1) : scales);
    const zeros = q instanceof Int8Array ? new Int8Array(axis === null ? 1 : scales.length) : new Int32Array(axis === null ? 1 : scales.length);
    const zName = this.init(`${base}_zero_point`, axis === null ? [] : [scales.length], zeros);
    const out = this.fresh(`${base}_DequantizeLinear_Output`);
    const dq = makeNode('DequantizeLinear', [qName, sName, zName], [out], { name: this.fresh(`${base}_DequantizeLinear`), attrs: axis === null ? {} : { axis } });
    this.insertBefore(anchor, dq);
    return out;
  }
}

/**
 * A QDQ copy of `model` (the input is not changed) with the given layers
 * quantized. Each layer must be quantizable (spec §4); opset must be ≥ 13.
 */
export function exportQdq(model: OnnxModel, layers: readonly QdqLayerSpec[], opts: QdqExportOptions = {}): QdqExportResult {
  return runStepsSync(exportQdqSteps(model, layers, opts));
}

/** exportQdq as steps, one per layer (its weights quantized), so a caller can let a Cancel in between (see runSteps). */
export function* exportQdqSteps(model: OnnxModel, layers: readonly QdqLayerSpec[], opts: QdqExportOptions = {}): Steps<QdqExportResult> {
  const target = opts.target ?? DEFAULT_EXPORT_TARGET;
  const file = model.path ?? 'model';
  const opset = model.opsetVersion('') ?? 1;
  if (opset < QDQ_MIN_OPSET) {
    throw new QtuneError('opset_too_old', `${file} uses opset ${opset}; QDQ export needs opset ${QDQ_MIN_OPSET} or newer (upgrade it first)`, { file });
  }
  const out = model.clone();
  const used = allTensorNames(out);
  // layers inside If/Loop/Scan bodies are quantized inside their body, with its weights (outer ones included)
  const scopeOf = new Map<string, { path: string; local: string }>();
  for (const spec of layers) {
    const found = resolveScopedNode(out, spec.name);
    if (!found) throw new QtuneError('layer_not_found', `${file}: no layer named "${spec.name}"`, { file, layer: spec.name });
    scopeOf.set(spec.name, { path: found.scope.path, local: found.node.name ?? '' });
  }
  const results = new Map<string, QdqLayerResult>();
  const extraQuantized: { tensor: string; source: 'layout' | 'range' }[] = [];
  const scopes = graphScopes(out);
  for (const scope of scopes) {
    const specs = layers.filter((l) => scopeOf.get(l.name)!.path === scope.path);
    if (specs.length === 0) continue;
    const view = scopeModel(out, scope);
    const idx = scope.owner ? scopeIndex(scope) : view.graph.index();
    const b = new QdqBuilder(view, used);
    const local: QdqLayerResult[] = [];
    for (const spec of specs) {
      local.push(quantizeLayer(view, idx, b, spec, scopeOf.get(spec.name)!.local, target, opts));
      yield;
    }
    // (ranges are measured on main-graph tensors only)
    if (target !== 'generic-qdq') extraQuantized.push(...placeU8Activations(view, b, local, scope.owner ? new Map() : opts.ranges ?? new Map()));
    local.forEach((r, i) => results.set(specs[i].name, { ...r, name: specs[i].name }));
  }
  // innermost bodies first: a body no longer reading an outer weight lets the outer graph drop it
  for (const scope of [...scopes].reverse()) scope.graph.removeUnusedInitializers();
  return { model: out, layers: layers.map((l) => results.get(l.name)!), ...(target !== 'generic-qdq' ? { extraQuantized } : {}) };
}

/** Quantize one layer of `model`'s graph (a body's, for a body view); `name` is its name in that graph. */
function quantizeLayer(
  model: OnnxModel, idx: GraphIndex, b: QdqBuilder, spec: QdqLayerSpec, name: string, target: ExportTarget, opts: QdqExportOptions,
): QdqLayerResult {
  const node = model.graph.getNode(name)!;
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
  // generic-qdq quantizes each layer's input here; ort-cpu places all activation pairs after the loop
  if (target === 'generic-qdq') node.input[0] = b.activation(node, node.input[0], scaleD, offset);

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
    const arqKey = `${spec.name}\0${node.input[1]}\0${channelWise}`;
    const arq = opts.arqResults?.get(arqKey) ?? arqQuantize(tensorToFloat32(wT), shape, { channelWise, channelAxis: axis, layer: spec.name });
    opts.arqResults?.set(arqKey, arq);
    result.scaleW = Array.from(arq.scales);
    result.offsetW = Array.from(arq.offsets);
    result.weightAxis = arq.axis;
    // depthwise convolutions use an exact kernel with int8 weights on every CPU: keep them int8
    const u8Weights = target === 'ort-cpu' && (opts.weights === 'uint8' || !!opts.uint8WeightLayers?.has(spec.name)) && !(op === 'Conv' && group > 1 && group === shape[0]);
    node.input[1] = b.constant(node, node.input[1], shape, arq.int8, arq.scales, arq.axis, u8Weights);

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
  return { ...result, name };
}

/**
 * ort-cpu activations: one uint8 Q→DQ per planned tensor, read by every consumer
 * the plan lists; a layer whose input the plan could not share (its consumers
 * disagree) gets its own pair, as in generic-qdq but in uint8.
 */
function placeU8Activations(model: OnnxModel, b: QdqBuilder, layers: readonly QdqLayerResult[], ranges: ReadonlyMap<string, TensorRange>): { tensor: string; source: 'layout' | 'range' }[] {
  const g = model.graph;
  const plan = planQdq(model, layers.map((l) => ({ name: l.name, scale: l.scaleD, offset: l.offsetD })), ranges);
  const extra: { tensor: string; source: 'layout' | 'range' }[] = [];
  for (const [tensor, p] of plan.params) {
    const readers = [...plan.readers.get(tensor)!];
    const first = readers.reduce((a, n) => (g.nodes.indexOf(n) < g.nodes.indexOf(a) ? n : a));
    const dq = b.activation(first, tensor, p.scale, p.zeroPoint, true);
    for (const r of readers) r.input = r.input.map((i) => (i === tensor ? dq : i));
    const src = plan.source.get(tensor)!;
    if (src !== 'layer') extra.push({ tensor, source: src });
  }
  for (const l of layers) {
    const node = g.getNode(l.name)!;
    if (node.input[0] !== l.inputTensor) continue;
    const p: U8Params = u8FromAmct(l.scaleD, l.offsetD);
    node.input[0] = b.activation(node, l.inputTensor, p.scale, p.zeroPoint, true);
  }
  for (const [relu, c] of plan.codeClips) clipCodes(model, relu, c.input, c.output, plan.params.get(c.output)!, c.bounds);
  return extra;
}

/** uint8 code of `v` under `p`, as QuantizeLinear computes it (±Infinity saturate). */
function u8Code(v: number, p: U8Params): number {
  return quantizeValue(v, p.scale, p.zeroPoint - 128) + 128;
}

/**
 * Replaces `Q(input) → DQ → relu → output` (the Q of `input` and of `output` both with `p`) by
 * `Q(input) → Clip(codes) → DQ → output`: the float Relu/Clip pass becomes one integer clip. `output` keeps
 * its name and its own Q/DQ, so the analyzer still finds the layers reading it; the runtime drops that
 * DQ → Q pair (same parameters), and the codes are the ones the Q of `output` gave before.
 */
function clipCodes(model: OnnxModel, relu: NodeProto, input: string, output: string, p: U8Params, bounds: TensorRange): void {
  const g = model.graph;
  const dqIn = g.nodes.find((n) => n.opType === 'DequantizeLinear' && n.output[0] === relu.input[0]);
  const qIn = dqIn && g.nodes.find((n) => n.opType === 'QuantizeLinear' && n.output[0] === dqIn.input[0] && n.input[0] === input);
  const readsDq = g.nodes.filter((n) => dqIn && n.input.includes(dqIn.output[0]));
  // the plan made the relu the only reader of the layer's quantized output
  if (!dqIn || !qIn || readsDq.length !== 1) return;
  const lo = g.uniqueName(`${output}_code_min`);
  const hi = g.uniqueName(`${output}_code_max`);
  g.addInitializer(makeTensor(lo, [], Uint8Array.of(u8Code(bounds.min, p))));
  g.addInitializer(makeTensor(hi, [], Uint8Array.of(u8Code(bounds.max, p))));
  const codes = g.uniqueName(`${output}_codes`);
  const clip = makeNode('Clip', [qIn.output[0], lo, hi], [codes], { name: g.uniqueName(`${relu.name || output}_codes`) });
  const dq = makeNode('DequantizeLinear', [codes, qIn.input[1], qIn.input[2]], [output], { name: g.uniqueName(`${output}_DequantizeLinear_codes`) });
  g.nodes.splice(g.nodes.indexOf(relu), 1, clip, dq);
  g.removeNode(dqIn);
  // the float Clip's bounds may come from Constant nodes that nothing reads now (a control-flow body might
  // read them by name from the outer scope: those graphs keep them)
  const hasBodies = g.nodes.some((n) => n.attribute.some((a) => a.g || (a.graphs?.length ?? 0) > 0));
  for (const bound of hasBodies ? [] : relu.input.slice(1)) {
    const c = bound ? g.nodes.find((n) => n.opType === 'Constant' && n.output[0] === bound) : undefined;
    if (c && !g.nodes.some((n) => n.input.includes(bound))) g.removeNode(c);
  }
}
