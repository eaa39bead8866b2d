// Opset upgrade to 13+ (QDQ export needs per-channel DequantizeLinear, opset
// 13). Each op that changed between its old version and 13 has an adapter
// below that rewrites attributes into inputs, renames or restructures; ops
// whose semantics did not change only have their legacy attributes dropped.
// Anything else is refused with the op and node named, never guessed.
import { QtuneError } from '../../shared/errors';
import { attrFloat, attrInt, attrString, getAttr, makeNode, removeAttr, setAttr } from './attrs';
import { loadModel, saveModel } from './io';
import type { Graph, OnnxModel } from './model';
import { DT, toBigInt, type NodeProto } from './proto';
import { nameAllocator } from './names';
import { inferTensorTypes } from './shapes';
import { makeTensor, tensorDims } from './tensor';

export const MIN_TARGET_OPSET = 13;
/** Between 13 and 17 none of the ops handled here changed meaning; 18 moved more attributes to inputs. */
export const MAX_TARGET_OPSET = 17;

/** Ops whose meaning is the same from their oldest version up to 17 (apart from attributes dropped below). */
const UNCHANGED = new Set([
  'Conv', 'ConvTranspose', 'Relu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'LeakyRelu', 'Elu', 'Selu',
  'PRelu', 'Softplus', 'Softsign', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Erf',
  'Sin', 'Cos', 'Transpose', 'Flatten', 'MatMul', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool',
  'Shape', 'Gather', 'GatherElements', 'Identity', 'Constant', 'ConstantOfShape', 'Sum', 'Max', 'Min', 'Mean',
  'Where', 'Not', 'Expand', 'Range', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL2', 'ReduceL1',
  'ReduceLogSumExp', 'ReduceSumSquare', 'ArgMax', 'ArgMin', 'Size', 'NonZero', 'LRN', 'InstanceNormalization',
  'DepthToSpace', 'SpaceToDepth', 'Einsum', 'ScatterND', 'GatherND', 'CumSum', 'Sign', 'IsNaN', 'IsInf', 'Mod',
  'NonMaxSuppression', 'RoiAlign', 'QuantizeLinear', 'DequantizeLinear', 'If', 'Loop', 'Scan',
]);
/** Binary ops that had the legacy `broadcast`/`axis` attributes before opset 7. */
const LEGACY_BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Equal', 'Greater', 'Less', 'And', 'Or', 'Xor']);

export interface UpgradeOptions {
  /** known tensor ranks (e.g. from inferTensorTypes); used by Softmax and legacy broadcasts */
  ranks?: Map<string, number>;
}

export interface UpgradeReport {
  from: number;
  to: number;
  /** node name → what changed, for nodes that were rewritten */
  changes: { node: string; opType: string; change: string }[];
}

class Upgrader {
  private used: Set<string>;
  readonly changes: UpgradeReport['changes'] = [];
  /** nodes to insert after a given node (Softmax coercion) */
  readonly inserts = new Map<NodeProto, { before: NodeProto[]; after: NodeProto[] }>();

  constructor(private readonly model: OnnxModel, private readonly from: number, private readonly opts: UpgradeOptions) {
    const g = model.graph;
    this.used = new Set<string>();
    for (const n of g.nodes) { if (n.name) this.used.add(n.name); for (const t of [...n.input, ...n.output]) this.used.add(t); }
    for (const t of g.initializers) this.used.add(t.name ?? '');
  }

  private get graph(): Graph { return this.model.graph; }

  private fresh(base: string): string {
    return nameAllocator(this.used)(base);
  }

  private fail(node: NodeProto, problem: string): never {
    throw new QtuneError('onnx_upgrade', `${this.model.path ?? 'model'}: cannot upgrade node '${node.name}' (${node.opType}) from opset ${this.from}: ${problem}`, { file: this.model.path, layer: node.name });
  }

  private note(node: NodeProto, change: string): void {
    this.changes.push({ node: node.name ?? '', opType: node.opType ?? '', change });
  }

  private int64Input(node: NodeProto, what: string, values: bigint[], dims = [values.length]): string {
    const name = this.fresh(`${node.name}_${what}`);
    this.graph.addInitializer(makeTensor(name, dims, BigInt64Array.from(values)));
    return name;
  }

  private floatInput(node: NodeProto, what: string, values: number[], dims = [values.length]): string {
    const name = this.fresh(`${node.name}_${what}`);
    this.graph.addInitializer(makeTensor(name, dims, Float32Array.from(values)));
    return name;
  }

  private attrInt64s(node: NodeProto, name: string): bigint[] | undefined {
    const a = getAttr(node, name);
    return a ? a.ints.map(toBigInt) : undefined;
  }

  /** Move an INTS attribute to an int64 input at `index` (missing attribute → input left out). */
  private intsAttrToInput(node: NodeProto, attr: string, index: number): boolean {
    const v = this.attrInt64s(node, attr);
    removeAttr(node, attr);
    if (!v) return false;
    while (node.input.length < index) node.input.push('');
    node.input[index] = this.int64Input(node, attr, v);
    this.note(node, `attribute ${attr} → input ${index}`);
    return true;
  }

  private rank(name: string): number | undefined {
    return this.opts.ranks?.get(name);
  }

  upgradeNode(node: NodeProto): void {
    if ((node.domain ?? '') !== '' && node.domain !== 'ai.onnx') return; // other domains keep their own opsets
    const op = node.opType ?? '';
    if (this.from < 6) removeAttr(node, 'consumed_inputs');
    if (LEGACY_BROADCAST.has(op)) return this.broadcast(node);
    switch (op) {
      case 'BatchNormalization': return this.batchNorm(node);
      case 'Clip': return this.clip(node);
      case 'Gemm': removeAttr(node, 'broadcast'); return;
      case 'Concat':
        if (attrInt(node, 'axis') === undefined) { setAttr(node, 'axis', 1); this.note(node, 'explicit axis=1 (old default)'); }
        return;
      case 'Split': return this.split(node);
      case 'Slice':
        if (this.from < 10) {
          const axes = this.attrInt64s(node, 'axes');
          const starts = this.attrInt64s(node, 'starts'), ends = this.attrInt64s(node, 'ends');
          if (!starts || !ends) this.fail(node, 'Slice without starts/ends');
          for (const a of ['starts', 'ends', 'axes']) removeAttr(node, a);
          node.input.splice(1, node.input.length - 1, this.int64Input(node, 'starts', starts), this.int64Input(node, 'ends', ends));
          if (axes) node.input.push(this.int64Input(node, 'axes', axes));
          this.note(node, 'starts/ends/axes attributes → inputs');
        }
        return;
      case 'Squeeze':
      case 'Unsqueeze':
        if (this.from < 13) this.intsAttrToInput(node, 'axes', 1);
        return;
      case 'ReduceSum':
        if (this.from < 13) this.intsAttrToInput(node, 'axes', 1);
        return;
      case 'Reshape':
        if (this.from < 5) {
          const shape = this.attrInt64s(node, 'shape');
          removeAttr(node, 'shape');
          if (shape) { node.input[1] = this.int64Input(node, 'shape', shape); this.note(node, 'shape attribute → input'); }
        }
        return;
      case 'Softmax':
      case 'LogSoftmax':
      case 'Hardmax':
        return this.softmax(node);
      case 'Pad': return this.pad(node);
      case 'Upsample': return this.upsample(node);
      case 'Resize':
        if (this.from < 11) {
          // Resize-10 is Upsample's semantics: asymmetric coordinates, floor for nearest
          node.input.splice(1, 0, '');
          setAttr(node, 'coordinate_transformation_mode', 'asymmetric');
          if ((attrString(node, 'mode') ?? 'nearest') === 'nearest') setAttr(node, 'nearest_mode', 'floor');
          this.note(node, 'Resize-10 → Resize-13 (roi input, asymmetric coordinates)');
        }
        return;
      case 'Cast': {
        const to = getAttr(node, 'to');
        if (to && to.s !== undefined && to.i === undefined) {
          const name = new TextDecoder().decode(to.s).toUpperCase();
          const code = (DT as Record<string, number>)[name];
          if (code === undefined) this.fail(node, `unknown Cast target type '${name}'`);
          setAttr(node, 'to', code);
          this.note(node, `to="${name}" → ${code}`);
        }
        return;
      }
      case 'Dropout':
        // inference only: Dropout is the identity; its ratio/is_test attributes moved or vanished over versions
        for (const a of ['is_test', 'ratio']) removeAttr(node, a);
        return;
      case 'TopK':
        if (this.from < 10) {
          const k = attrInt(node, 'k');
          removeAttr(node, 'k');
          if (k === undefined) this.fail(node, 'TopK without k');
          node.input[1] = this.int64Input(node, 'k', [BigInt(k)]);
          this.note(node, 'k attribute → input');
        }
        return;
      case 'Tile':
        if (this.from < 6) this.fail(node, 'Tile-1 (tiles/axis inputs) is not supported');
        return;
      default:
        if (UNCHANGED.has(op)) return;
        this.fail(node, `no opset ${this.from} → 13 converter for ${op}`);
    }
  }

  private broadcast(node: NodeProto): void {
    const bcast = attrInt(node, 'broadcast');
    const axis = attrInt(node, 'axis');
    removeAttr(node, 'broadcast');
    removeAttr(node, 'axis');
    if (!bcast || axis === undefined) return; // no broadcast, or numpy-like suffix alignment already
    // legacy broadcast aligned B at `axis` of A; numpy aligns at the end, so give B trailing 1-dims
    const rankA = this.rank(node.input[0]);
    const b = this.graph.getInitializer(node.input[1]);
    if (rankA === undefined || !b) this.fail(node, `legacy broadcast with axis=${axis} needs a constant B and the rank of A`);
    const dims = tensorDims(b);
    const trailing = rankA - (axis < 0 ? axis + rankA : axis) - dims.length;
    if (trailing < 0) this.fail(node, 'B does not fit A at the broadcast axis');
    if (trailing > 0) {
      const copy = { ...b, name: this.fresh(`${node.input[1]}_bcast`), dims: [...dims, ...Array(trailing).fill(1)] };
      this.graph.addInitializer(copy);
      node.input[1] = copy.name;
      this.note(node, `legacy broadcast at axis ${axis} → B reshaped to ${JSON.stringify(copy.dims)}`);
    }
  }

  private batchNorm(node: NodeProto): void {
    const spatial = attrInt(node, 'spatial');
    if (spatial === 0) this.fail(node, 'spatial=0 (per-activation statistics) has no opset 13 equivalent');
    for (const a of ['spatial', 'is_test']) if (removeAttr(node, a)) this.note(node, `dropped ${a}`);
    // training-only outputs: fine to drop when nothing reads them
    if (node.output.length > 1) {
      const idx = this.graph.index();
      const outs = new Set(this.graph.outputs.map((o) => o.name));
      const used = node.output.slice(1).filter((o) => o && (idx.consumers.has(o) || outs.has(o)));
      if (used.length > 0) this.fail(node, `training outputs ${used.join(', ')} are used`);
      node.output.length = 1;
    }
  }

  private clip(node: NodeProto): void {
    if (this.from >= 11) return;
    const min = attrFloat(node, 'min');
    const max = attrFloat(node, 'max');
    removeAttr(node, 'min');
    removeAttr(node, 'max');
    node.input.length = 1;
    node.input.push(min !== undefined ? this.floatInput(node, 'min', [min], []) : '');
    if (max !== undefined) node.input.push(this.floatInput(node, 'max', [max], []));
    if (node.input[1] === '' && node.input.length === 2) node.input.length = 1;
    this.note(node, 'min/max attributes → inputs');
  }

  private split(node: NodeProto): void {
    if (this.from >= 13) return;
    if (this.from < 2 && node.input.length > 1) return; // Split-1's optional split input is already what 13 wants
    this.intsAttrToInput(node, 'split', 1);
  }

  private pad(node: NodeProto): void {
    if (this.from >= 11) return;
    const pads = this.attrInt64s(node, 'pads') ?? this.attrInt64s(node, 'paddings');
    if (!pads) this.fail(node, 'Pad without pads');
    const value = attrFloat(node, 'value', 0);
    for (const a of ['pads', 'paddings', 'value']) removeAttr(node, a);
    node.input.length = 1;
    node.input.push(this.int64Input(node, 'pads', pads));
    if (value !== 0) node.input.push(this.floatInput(node, 'value', [value], []));
    this.note(node, 'pads/value attributes → inputs');
  }

  private upsample(node: NodeProto): void {
    const mode = attrString(node, 'mode') ?? 'nearest';
    if (mode !== 'nearest' && mode !== 'linear' && mode !== 'bilinear') this.fail(node, `Upsample mode '${mode}'`);
    let scales = node.input[1];
    const attrScales = getAttr(node, 'scales');
    if (attrScales) scales = this.floatInput(node, 'scales', [...attrScales.floats]);
    else if (this.from < 7) {
      // Upsample-1: width_scale/height_scale on the last two dims of a 4-D input
      const h = attrFloat(node, 'height_scale'), w = attrFloat(node, 'width_scale');
      if (h === undefined || w === undefined) this.fail(node, 'Upsample-1 without height_scale/width_scale');
      scales = this.floatInput(node, 'scales', [1, 1, h, w]);
    }
    if (!scales) this.fail(node, 'Upsample without scales');
    node.opType = 'Resize';
    node.input = [node.input[0], '', scales];
    node.attribute = [];
    setAttr(node, 'mode', mode === 'nearest' ? 'nearest' : 'linear');
    setAttr(node, 'coordinate_transformation_mode', 'asymmetric');
    if (mode === 'nearest') setAttr(node, 'nearest_mode', 'floor');
    this.note(node, 'Upsample → Resize');
  }

  private softmax(node: NodeProto): void {
    if (this.from >= 13) return;
    const axis = attrInt(node, 'axis', 1);
    const rank = this.rank(node.input[0]);
    if (rank !== undefined) {
      const a = axis < 0 ? axis + rank : axis;
      if (a === rank - 1) { setAttr(node, 'axis', -1); return; }
    }
    // Before 13 the input was coerced to 2-D at `axis` and normalised over the
    // flattened tail. Do exactly that: Flatten → Softmax(-1) → Reshape back.
    const input = node.input[0], output = node.output[0];
    const flat = this.fresh(`${node.name}_flat`), soft = this.fresh(`${node.name}_2d`), shape = this.fresh(`${node.name}_shape`);
    const before = [
      makeNode('Flatten', [input], [flat], { name: this.fresh(`${node.name}_flatten`), attrs: { axis } }),
      makeNode('Shape', [input], [shape], { name: this.fresh(`${node.name}_shape_of`) }),
    ];
    node.input[0] = flat;
    node.output[0] = soft;
    setAttr(node, 'axis', -1);
    const after = [makeNode('Reshape', [soft, shape], [output], { name: this.fresh(`${node.name}_unflatten`) })];
    this.inserts.set(node, { before, after });
    this.note(node, `axis=${axis} over the flattened tail → Flatten/Softmax/Reshape`);
  }
}

/**
 * Rewrite the model in place to default-domain opset `target` (13..17).
 * A model already at or above 13 only gets its version raised.
 */
export function upgradeOpset(model: OnnxModel, target = 13, opts: UpgradeOptions = {}): UpgradeReport {
  if (target < MIN_TARGET_OPSET || target > MAX_TARGET_OPSET) {
    throw new QtuneError('onnx_upgrade', `opset ${target} is not a supported target (${MIN_TARGET_OPSET}..${MAX_TARGET_OPSET})`, { file: model.path });
  }
  const from = model.opsetVersion('') ?? 1;
  if (from > target) {
    throw new QtuneError('onnx_upgrade', `${model.path ?? 'model'}: already at opset ${from}, above the requested ${target} (downgrades are not supported)`, { file: model.path });
  }
  const up = new Upgrader(model, from, opts);
  if (from < 13) {
    for (const node of [...model.graph.nodes]) up.upgradeNode(node);
    if (up.inserts.size > 0) {
      const nodes: NodeProto[] = [];
      for (const n of model.graph.nodes) {
        const ins = up.inserts.get(n);
        nodes.push(...(ins?.before ?? []), n, ...(ins?.after ?? []));
      }
      model.graph.nodes.splice(0, model.graph.nodes.length, ...nodes);
    }
  }
  model.setOpsetVersion(target, '');
  // IR 7 is the first that knows opset 13's features in ORT's eyes; never lower an existing one
  if (model.irVersion < 7) model.proto.irVersion = 7;
  return { from, to: target, changes: up.changes };
}

/**
 * Whether upgrading the model needs tensor ranks (an ORT run when the model does not declare them): the Softmax
 * family, and a legacy broadcast with an axis. Other ops convert from the graph alone.
 */
export function needsTensorRanks(model: OnnxModel): boolean {
  return model.graph.nodes.some((n) => ['Softmax', 'LogSoftmax', 'Hardmax'].includes(n.opType ?? '') || (LEGACY_BROADCAST.has(n.opType ?? '') && !!attrInt(n, 'broadcast') && attrInt(n, 'axis') !== undefined));
}

/** Tensor ranks from declared value info, or (when that is missing) from one ORT run at dynamic dims = 1. */
export async function tensorRanks(model: OnnxModel): Promise<Map<string, number>> {
  const ranks = new Map<string, number>();
  try {
    for (const [name, t] of await inferTensorTypes(model)) if (t.shape) ranks.set(name, t.shape.length);
  } catch {
    // no ORT run possible (e.g. opset too old for ORT): declared ranks only
    for (const v of model.graph.index().valueInfo.values()) {
      const d = v.type?.tensorType?.shape?.dim;
      if (d) ranks.set(v.name ?? '', d.length);
    }
  }
  return ranks;
}

/** `qtune upgrade`: load, upgrade to `opset`, save. */
export async function upgradeModelFile(inPath: string, outPath: string, opset = 13): Promise<UpgradeReport> {
  const model = loadModel(inPath);
  const ranks = needsTensorRanks(model) ? await tensorRanks(model) : undefined;
  const report = upgradeOpset(model, opset, { ranks });
  saveModel(model, outPath);
  return report;
}

