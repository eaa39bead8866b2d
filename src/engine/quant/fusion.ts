// BatchNorm fusion (spec §5). A BatchNormalization right after a Conv is
// folded into the Conv's weights and bias, so calibration and quantization see
// the layer the way it will run. Constant per-channel Mul / Add after a BN are
// folded into the BN first, which lets more BNs reach a Conv.
//
// Everything is computed in float64 and stored as float32; the graph is edited
// in place (callers clone first when they need the original).
import { QtuneError } from '../../shared/errors';
import { runStepsSync, type Steps } from '../cancel';
import {
  DT,
  attrFloat,
  constantValue,
  makeTensor,
  tensorDims,
  tensorToFloat32,
  type GraphIndex,
  type NodeProto,
  type OnnxModel,
  type TensorProto,
} from '../onnx';

export interface FusionResult {
  /** Conv + BN pairs fused (the Conv keeps its name) */
  fused: { conv: string; bn: string }[];
  /** Mul / Add nodes folded into the BN before them */
  folded: { bn: string; node: string; opType: 'Mul' | 'Add' }[];
  /** Conv + BN pairs left alone, and why */
  skipped: { name: string; reason: string }[];
}

export interface FusionOptions {
  /** Conv names not to fuse (config.json skip_fusion_layers) */
  skip?: readonly string[];
}

const BN_EPSILON_DEFAULT = 1e-5;

// Parameters may reach the Conv or BN through Identity (torch.onnx writes equal parameters once), Transpose,
// Reshape, Cast …: constantValue computes them from the constants they come from.
const constantOf = constantValue;

function isOp(n: NodeProto | undefined, op: string): n is NodeProto {
  return !!n && n.opType === op && (n.domain ?? '') === '';
}

/** The only reader of `tensor`, or undefined when it has several, none, or is a graph output. */
function soleConsumer(idx: GraphIndex, tensor: string): NodeProto | undefined {
  if (idx.graphOutputs.has(tensor)) return undefined;
  const readers = idx.consumers.get(tensor) ?? [];
  return readers.length === 1 ? readers[0] : undefined;
}

interface BnParams {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

function isFloatTensor(t: TensorProto): boolean {
  return t.dataType === DT.FLOAT;
}

/** The BN's four constant inputs, or a reason why they cannot be read. */
function bnParams(idx: GraphIndex, bn: NodeProto): BnParams | string {
  const ts = [1, 2, 3, 4].map((k) => constantOf(idx, bn.input[k]));
  if (ts.some((t) => !t)) return 'BatchNormalization parameters are not constants';
  if (ts.some((t) => !isFloatTensor(t!))) return 'BatchNormalization parameters are not float32';
  const [gamma, beta, mean, variance] = ts.map((t) => tensorToFloat32(t!));
  const c = gamma.length;
  if (beta.length !== c || mean.length !== c || variance.length !== c) return 'BatchNormalization parameters differ in length';
  if (bn.output.filter((o) => o).length > 1) return 'BatchNormalization in training mode (running statistics are outputs)';
  return { gamma, beta, mean, variance, epsilon: attrFloat(bn, 'epsilon', BN_EPSILON_DEFAULT) };
}

/** Rank of the tensor the BN normalises, when it can be told (from value info or the producing Conv). */
function bnInputRank(model: OnnxModel, idx: GraphIndex, bn: NodeProto): number | undefined {
  const vi = idx.valueInfo.get(bn.input[0]);
  const dims = vi?.type?.tensorType?.shape?.dim;
  if (dims) return dims.length;
  const p = idx.producers.get(bn.input[0]);
  if (isOp(p, 'Conv') || isOp(p, 'ConvTranspose')) {
    const w = constantOf(idx, p.input[1]);
    if (w) return tensorDims(w).length;
  }
  return undefined;
}

/**
 * Per-channel values of a constant Mul/Add operand broadcast against an
 * N×C×spatial tensor: a scalar (or all-ones shape), or a shape whose only
 * non-1 dim sits on the channel axis. Undefined when it is not per-channel.
 */
function perChannelOperand(t: TensorProto, channels: number, rank: number | undefined): Float64Array | undefined {
  if (!isFloatTensor(t)) return undefined;
  const dims = tensorDims(t);
  const v = tensorToFloat32(t);
  if (v.length === 1) return Float64Array.from({ length: channels }, () => v[0]);
  if (rank === undefined || dims.length > rank) return undefined;
  // right-align against [N, C, s1..sk]: the channel axis is at position 1 of the full rank
  const channelPos = dims.length - (rank - 1);
  if (channelPos < 0) return undefined;
  for (let i = 0; i < dims.length; i++) {
    const want = i === channelPos ? channels : 1;
    if (dims[i] !== want) return undefined;
  }
  return Float64Array.from(v);
}

function setBnParams(model: OnnxModel, bn: NodeProto, gamma: Float64Array, beta: Float64Array): void {
  const g = model.graph;
  const gName = g.uniqueName(`${bn.name}_folded_scale`);
  const bName = g.uniqueName(`${bn.name}_folded_bias`);
  g.addInitializer(makeTensor(gName, [gamma.length], Float32Array.from(gamma)));
  g.addInitializer(makeTensor(bName, [beta.length], Float32Array.from(beta)));
  bn.input[1] = gName;
  bn.input[2] = bName;
}

/** Fold one BN + Mul/Add pair; true when the graph changed. */
function foldOneMulAdd(model: OnnxModel, result: FusionResult): boolean {
  const idx = model.graph.index();
  for (const bn of model.graph.nodes) {
    if (!isOp(bn, 'BatchNormalization')) continue;
    const out = bn.output[0];
    const next = soleConsumer(idx, out);
    if (!isOp(next, 'Mul') && !isOp(next, 'Add')) continue;
    const other = next.input[0] === out ? next.input[1] : next.input[0];
    if (next.input[0] === next.input[1]) continue;
    const operand = constantOf(idx, other);
    if (!operand) continue;
    const p = bnParams(idx, bn);
    if (typeof p === 'string') continue;
    const values = perChannelOperand(operand, p.gamma.length, bnInputRank(model, idx, bn));
    if (!values) continue;
    const gamma = Float64Array.from(p.gamma);
    const beta = Float64Array.from(p.beta);
    if (next.opType === 'Mul') {
      for (let c = 0; c < gamma.length; c++) {
        gamma[c] *= values[c];
        beta[c] *= values[c];
      }
    } else {
      for (let c = 0; c < beta.length; c++) beta[c] += values[c];
    }
    if (![...gamma, ...beta].every((x) => Number.isFinite(Math.fround(x)))) continue;
    setBnParams(model, bn, gamma, beta);
    // the BN now produces what the Mul/Add produced, so readers keep their tensor names
    bn.output[0] = next.output[0];
    model.graph.removeNode(next);
    dropValueInfo(model, out);
    result.folded.push({ bn: bn.name ?? '', node: next.name ?? '', opType: next.opType as 'Mul' | 'Add' });
    return true;
  }
  return false;
}

function dropValueInfo(model: OnnxModel, tensor: string): void {
  const vi = model.graph.valueInfo;
  const i = vi.findIndex((v) => v.name === tensor);
  if (i >= 0) vi.splice(i, 1);
}

interface ConvBnPair {
  conv: NodeProto;
  bn: NodeProto;
}

/** Conv nodes whose output feeds only a BatchNormalization (as its data input), with constant weights. */
function convBnPairs(idx: GraphIndex, nodes: readonly NodeProto[]): ConvBnPair[] {
  const out: ConvBnPair[] = [];
  for (const conv of nodes) {
    if (!isOp(conv, 'Conv')) continue;
    const bn = soleConsumer(idx, conv.output[0]);
    if (!isOp(bn, 'BatchNormalization') || bn.input[0] !== conv.output[0]) continue;
    if (!constantOf(idx, conv.input[1])) continue;
    out.push({ conv, bn });
  }
  return out;
}

/** Names usable in skip_fusion_layers: the Convs that BN fusion would fuse. */
export function fusibleLayers(model: OnnxModel): string[] {
  return convBnPairs(model.graph.index(), model.graph.nodes).map((p) => p.conv.name ?? '');
}

/** Fold the BN into the Conv; returns a reason when it cannot. */
function fuseConvBn(model: OnnxModel, idx: GraphIndex, { conv, bn }: ConvBnPair): string | undefined {
  const p = bnParams(idx, bn);
  if (typeof p === 'string') return p;
  const wT = constantOf(idx, conv.input[1])!;
  if (!isFloatTensor(wT)) return 'Conv weight is not float32';
  const wDims = tensorDims(wT);
  const w = tensorToFloat32(wT);
  const cout = wDims[0];
  if (cout !== p.gamma.length) return `Conv has ${cout} output channels but the BatchNormalization ${p.gamma.length}`;
  const bT = conv.input[2] ? constantOf(idx, conv.input[2]) : undefined;
  if (conv.input[2] && !bT) return 'Conv bias is not a constant';
  if (bT && !isFloatTensor(bT)) return 'Conv bias is not float32';
  const b = bT ? tensorToFloat32(bT) : new Float32Array(cout);
  if (b.length !== cout) return `Conv bias has ${b.length} values for ${cout} output channels`;

  const per = w.length / cout;
  const newW = new Float32Array(w.length);
  const newB = new Float32Array(cout);
  for (let c = 0; c < cout; c++) {
    const f = p.gamma[c] / Math.sqrt(p.variance[c] + p.epsilon);
    for (let i = c * per; i < (c + 1) * per; i++) newW[i] = w[i] * f;
    newB[c] = (b[c] - p.mean[c]) * f + p.beta[c];
  }
  for (let i = 0; i < newW.length; i++) if (!Number.isFinite(newW[i])) return `fused weight is not finite (channel ${Math.floor(i / per)})`;
  for (let c = 0; c < cout; c++) if (!Number.isFinite(newB[c])) return `fused bias is not finite (channel ${c})`;

  const g = model.graph;
  // New initializers rather than overwriting: the old ones may be shared, or be Constant outputs.
  const wName = g.uniqueName(`${conv.input[1]}_fused`);
  const bName = g.uniqueName(`${conv.name}_fused_bias`);
  g.addInitializer(makeTensor(wName, wDims, newW));
  g.addInitializer(makeTensor(bName, [cout], newB));
  const oldOut = conv.output[0];
  conv.input[1] = wName;
  conv.input[2] = bName;
  conv.output[0] = bn.output[0];
  g.removeNode(bn);
  dropValueInfo(model, oldOut);
  return undefined;
}

/** Drop Constant nodes nothing reads any more (their weights were replaced). */
function removeDeadConstants(model: OnnxModel): void {
  const idx = model.graph.index();
  const dead = model.graph.nodes.filter((n) => isOp(n, 'Constant') && !idx.consumers.has(n.output[0]) && !idx.graphOutputs.has(n.output[0]));
  for (const n of dead) model.graph.removeNode(n);
}

/** Fold BN + Mul/Add, then fuse Conv + BN, in place. */
export function foldBatchNorm(model: OnnxModel, opts: FusionOptions = {}): FusionResult {
  return runStepsSync(foldBatchNormSteps(model, opts));
}

/** foldBatchNorm as steps, one per fold or fused pair, so a caller can let a Cancel in between (see runSteps). */
export function* foldBatchNormSteps(model: OnnxModel, opts: FusionOptions = {}): Steps<FusionResult> {
  const result: FusionResult = { fused: [], folded: [], skipped: [] };
  const skip = new Set(opts.skip ?? []);
  const names = new Set(model.graph.nodes.map((n) => n.name));
  for (const s of skip) {
    if (!names.has(s)) throw new QtuneError('fusion_unknown_layer', `skip_fusion_layers names "${s}", which is not a node of the model`, { layer: s, path: '$.skip_fusion_layers' });
  }
  // Each fold changes the index, so rebuild it after every change (fusion runs once per model).
  while (foldOneMulAdd(model, result)) yield;
  const idx = model.graph.index();
  for (const pair of convBnPairs(idx, [...model.graph.nodes])) {
    const name = pair.conv.name ?? '';
    if (skip.has(name)) {
      result.skipped.push({ name, reason: 'listed in skip_fusion_layers' });
      continue;
    }
    const reason = fuseConvBn(model, idx, pair);
    if (reason) result.skipped.push({ name, reason });
    else result.fused.push({ conv: name, bn: pair.bn.name ?? '' });
    yield;
  }
  if (result.fused.length || result.folded.length) {
    removeDeadConstants(model);
    model.graph.removeUnusedInitializers();
  }
  return result;
}
