// Where the ort-cpu export puts its QuantizeLinear/DequantizeLinear pairs.
//
// onnxruntime turns a quantized layer into one integer kernel (QLinearConv,
// QGemm, QLinearMatMul, QLinearAdd, QLinearGlobalAveragePool …) only when the
// layer reads DequantizeLinear outputs AND its output goes straight into a
// QuantizeLinear (optionally through one Relu/Clip that the Q makes redundant),
// with uint8 activations on x86. AMCT's simulation quantizes only each layer's
// input, so the plan gives every tensor on an integer path one uint8
// quantization, found in this order:
//   1. the tensor's quantized consumers agree on an IFMR scale/offset: that one
//      (exact: moving a Q back through Relu, MaxPool or a reshape does not change
//      what the consumer sees, see `isTransparent`);
//   2. its only consumer is a layout op (MaxPool, Flatten, Reshape …) whose output
//      is quantized: the same parameters, so the runtime drops the pair (exact);
//   3. it is an input or the output of a residual Add, a Concat or a
//      GlobalAveragePool that can run as an integer kernel: the tensor's range
//      measured on the calibration data (min/max, uint8 asymmetric). These are
//      the only places where the exported model quantizes a tensor that AMCT's
//      simulation keeps in float; the parity check measures what that costs.
// Consumers that must stay float (skipped layers, ops without an integer
// kernel, graph outputs) keep reading the float tensor.
import { attrInt, isNonFloatTensor, tensorToFloat32, type GraphIndex, type NodeProto, type OnnxModel } from '../onnx';

/** uint8 quantization of one tensor (zero point 0…255). */
export interface U8Params {
  scale: number;
  zeroPoint: number;
}

export interface TensorRange {
  min: number;
  max: number;
}

/** An enabled layer: its node name and the IFMR result for its input 0, in AMCT's int8 convention. */
export interface PlanLayer {
  name: string;
  scale: number;
  offset: number;
}

export interface QdqPlan {
  /** tensor → its uint8 quantization; every reader listed in `readers` reads the DequantizeLinear output */
  params: Map<string, U8Params>;
  readers: Map<string, Set<NodeProto>>;
  /** where each parameter came from, for notes and tests */
  source: Map<string, 'layer' | 'layout' | 'range'>;
  /** integer ops (Add, Concat, GlobalAveragePool) whose inputs and output are all quantized */
  integerOps: Set<NodeProto>;
  /**
   * Relu/Clip nodes the export replaces by a Clip of the uint8 codes: `input` (the layer's output) and `output`
   * (the Relu/Clip's) are both quantized with the same parameters, and the bounds are in `bounds`
   */
  codeClips: Map<NodeProto, { input: string; output: string; bounds: TensorRange }>;
}

/** Ops that only move or select values: quantizing before or after them gives the same integers. */
const LAYOUT_OPS = new Set(['MaxPool', 'Flatten', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze']);
/** Ops onnxruntime runs as integer kernels between Q/DQ (besides the quantizable layers). */
const INTEGER_OPS = new Set(['Add', 'Concat', 'GlobalAveragePool']);

const U8_EPS = 1.1920929e-7;

/** AMCT's int8 offset o is uint8 zero point o + 128 with the same scale: the same dequantized values. */
export function u8FromAmct(scale: number, offset: number): U8Params {
  return { scale: Math.fround(scale), zeroPoint: offset + 128 };
}

/** Asymmetric uint8 parameters covering a measured range (always including 0, so zero is exact). */
export function u8FromRange(r: TensorRange): U8Params {
  const lo = Math.min(r.min, 0);
  const hi = Math.max(r.max, 0);
  const scale = Math.fround((hi - lo) / 255);
  if (!(scale >= U8_EPS) || !Number.isFinite(scale)) return { scale: 1, zeroPoint: 0 };
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-lo / scale))) };
}

function sameParams(a: U8Params | undefined, b: U8Params | undefined): boolean {
  return !!a && !!b && a.scale === b.scale && a.zeroPoint === b.zeroPoint;
}

function isTransparent(node: NodeProto): boolean {
  if ((node.domain ?? '') !== '' || !LAYOUT_OPS.has(node.opType ?? '')) return false;
  // MaxPool with an Indices output is not a plain value selection for the runtime's integer path
  return node.opType !== 'MaxPool' || node.output.filter(Boolean).length === 1;
}

function constantScalar(idx: GraphIndex, name: string | undefined): number | undefined {
  if (!name) return undefined;
  const t = idx.initializers.get(name) ?? idx.constants.get(name);
  if (!t) return undefined;
  const v = tensorToFloat32(t);
  return v.length === 1 ? v[0] : undefined;
}

/** The value range a Relu/Clip lets through, or undefined when a Clip bound is not a constant scalar. */
export function reluBounds(node: NodeProto, idx: GraphIndex): TensorRange | undefined {
  if (node.opType === 'Relu') return { min: 0, max: Infinity };
  if (node.opType !== 'Clip') return undefined;
  // opset 11+ Clip: min and max are optional constant inputs (the export needs opset 13)
  let min = -Infinity;
  let max = Infinity;
  if (node.input[1]) {
    const v = constantScalar(idx, node.input[1]);
    if (v === undefined) return undefined;
    min = v;
  }
  if (node.input[2]) {
    const v = constantScalar(idx, node.input[2]);
    if (v === undefined) return undefined;
    max = v;
  }
  return { min, max };
}

/** Whether quantizing the Relu/Clip output with `p` makes the Relu/Clip itself a no-op (the runtime then drops it). */
export function reluMadeRedundant(node: NodeProto, idx: GraphIndex, p: U8Params): boolean {
  if (node.opType === 'Relu') return p.zeroPoint === 0;
  const b = reluBounds(node, idx);
  return !!b && b.min <= p.scale * (0 - p.zeroPoint) && b.max >= p.scale * (255 - p.zeroPoint);
}

function isReluLike(node: NodeProto): boolean {
  return (node.domain ?? '') === '' && (node.opType === 'Relu' || node.opType === 'Clip');
}

/**
 * The tensor an integer kernel's output Q must sit on: `tensor` itself, or the
 * output of the one Relu/Clip that alone consumes it (which the runtime folds in).
 */
export function outputEnd(tensor: string, idx: GraphIndex): { end: string; relu?: NodeProto } {
  const cons = idx.consumers.get(tensor) ?? [];
  if (cons.length === 1 && isReluLike(cons[0]) && !idx.graphOutputs.has(tensor)) return { end: cons[0].output[0], relu: cons[0] };
  return { end: tensor };
}

function isActivation(idx: GraphIndex, name: string): boolean {
  // shape arithmetic (int64 Concat/Add of Shape results) is not data the runtime can quantize
  return !!name && !idx.initializers.has(name) && !idx.constants.has(name) && !isNonFloatTensor(idx, name);
}

/** Integer-op candidates: Add/Concat over activations only, GlobalAveragePool on 4-D data. */
function integerCandidates(model: OnnxModel, idx: GraphIndex): NodeProto[] {
  return model.graph.nodes.filter((n) => {
    if ((n.domain ?? '') !== '' || !INTEGER_OPS.has(n.opType ?? '')) return false;
    const data = n.input.filter(Boolean);
    if (data.length === 0 || !data.every((i) => isActivation(idx, i))) return false;
    if (n.opType === 'Concat' && attrInt(n, 'axis') === undefined) return false;
    return true;
  });
}

/**
 * Tensors whose range the plan needs from the calibration data: inputs and
 * output ends of integer-op candidates (those not already given a scale by a
 * quantized consumer are quantized from their range).
 */
export function tensorsNeedingRanges(model: OnnxModel, layers: readonly Pick<PlanLayer, 'name'>[]): string[] {
  const idx = model.graph.index();
  const layerInputs = new Set(layers.map((l) => model.graph.getNode(l.name)?.input[0]).filter((x): x is string => !!x));
  const out = new Set<string>();
  for (const n of integerCandidates(model, idx)) {
    for (const i of n.input) if (i && !layerInputs.has(i)) out.add(i);
    const { end } = outputEnd(n.output[0], idx);
    if (!layerInputs.has(end)) out.add(end);
  }
  return [...out];
}

/** Whether consumer `c` of tensor `t` (quantized with `p`) reads the quantized copy rather than the float tensor. */
function readsQuantized(c: NodeProto, t: string, p: U8Params, params: ReadonlyMap<string, U8Params>, layerParams: ReadonlyMap<NodeProto, U8Params>, integerOps: ReadonlySet<NodeProto>): boolean {
  if (layerParams.has(c)) return c.input[0] === t && sameParams(layerParams.get(c), p);
  if (integerOps.has(c)) return true;
  return isTransparent(c) && c.input[0] === t && sameParams(params.get(c.output[0]), p);
}

/** The ort-cpu quantization plan for `model` with the enabled `layers` and measured `ranges`. */
export function planQdq(model: OnnxModel, layers: readonly PlanLayer[], ranges: ReadonlyMap<string, TensorRange>): QdqPlan {
  const g = model.graph;
  const idx = g.index();
  const order = g.topologicalOrder();
  const layerParams = new Map<NodeProto, U8Params>();
  for (const l of layers) {
    const node = g.getNode(l.name);
    if (node) layerParams.set(node, u8FromAmct(l.scale, l.offset));
  }
  let integerOps = new Set(integerCandidates(model, idx));
  let params = new Map<string, U8Params>();
  let source = new Map<string, 'layer' | 'layout' | 'range'>();

  // Params flow backwards (a tensor takes its consumers' scale), and an integer op
  // needs all of its tensors quantized: iterate until the set of integer ops is stable.
  for (;;) {
    params = new Map();
    source = new Map();
    const rangeWanted = new Set<string>();
    for (const n of integerOps) {
      for (const i of n.input) if (i) rangeWanted.add(i);
      rangeWanted.add(outputEnd(n.output[0], idx).end);
    }
    const tensorsInReverse: string[] = [];
    for (const v of g.feedInputs) if (v.name) tensorsInReverse.push(v.name);
    for (const n of order) for (const o of n.output) if (o) tensorsInReverse.push(o);
    tensorsInReverse.reverse();
    for (const t of tensorsInReverse) {
      const cons = idx.consumers.get(t) ?? [];
      const fromLayers = cons.filter((c) => layerParams.has(c) && c.input[0] === t).map((c) => layerParams.get(c)!);
      if (fromLayers.length > 0) {
        // consumers that disagree each quantize the float tensor themselves (their own Q), as AMCT simulates
        if (fromLayers.every((p) => sameParams(p, fromLayers[0]))) {
          params.set(t, fromLayers[0]);
          source.set(t, 'layer');
        }
        continue;
      }
      if (cons.length === 1 && isTransparent(cons[0]) && cons[0].input[0] === t && !idx.graphOutputs.has(t)) {
        const p = params.get(cons[0].output[0]);
        if (p) {
          params.set(t, p);
          source.set(t, 'layout');
          continue;
        }
      }
      const r = ranges.get(t);
      if (rangeWanted.has(t) && r) {
        params.set(t, u8FromRange(r));
        source.set(t, 'range');
      }
    }
    const next = new Set(
      [...integerOps].filter((n) => {
        if (!n.input.filter(Boolean).every((i) => params.has(i))) return false;
        const { end, relu } = outputEnd(n.output[0], idx);
        const p = params.get(end);
        if (!p || (relu && !reluMadeRedundant(relu, idx, p)) || idx.graphOutputs.has(end)) return false;
        // the runtime fuses the op only when its output feeds nothing but the Q (a float reader keeps it float)
        return (idx.consumers.get(end) ?? []).every((c) => readsQuantized(c, end, p, params, layerParams, integerOps));
      }),
    );
    if (next.size === integerOps.size) break;
    integerOps = next;
  }

  // Who reads the quantized copy of each tensor.
  const readers = new Map<string, Set<NodeProto>>();
  const addReader = (t: string, n: NodeProto) => {
    let s = readers.get(t);
    if (!s) readers.set(t, (s = new Set()));
    s.add(n);
  };
  for (const [t, p] of params) {
    for (const c of idx.consumers.get(t) ?? []) if (readsQuantized(c, t, p, params, layerParams, integerOps)) addReader(t, c);
  }
  // A tensor whose quantized copy nobody reads needs no pair at all.
  for (const t of [...params.keys()]) {
    if (!readers.has(t)) {
      params.delete(t);
      source.delete(t);
    }
  }
  // A Relu/Clip the output Q does not make redundant (e.g. ReLU6 before a clip range wider than 6) stops the runtime
  // from fusing the layer before it. Quantization is monotonic, so quantizing the layer's output with the same
  // parameters and clipping the codes at the codes of the Clip's bounds gives the same codes as quantizing the
  // clipped value: exact, the layer runs as an integer kernel, and the clip is one cheap pass over uint8 codes.
  const codeClips = new Map<NodeProto, { input: string; output: string; bounds: TensorRange }>();
  for (const layer of layerParams.keys()) {
    const out = layer.output[0];
    const { end, relu } = outputEnd(out, idx);
    const p = params.get(end);
    if (!relu || !p || params.has(out) || reluMadeRedundant(relu, idx, p)) continue;
    if ((idx.consumers.get(end) ?? []).some((c) => !readers.get(end)?.has(c)) || idx.graphOutputs.has(end)) continue;
    const bounds = reluBounds(relu, idx);
    if (!bounds) continue;
    params.set(out, p);
    source.set(out, 'layout');
    addReader(out, relu);
    codeClips.set(relu, { input: out, output: end, bounds });
  }
  return { params, readers, source, integerOps, codeClips };
}
