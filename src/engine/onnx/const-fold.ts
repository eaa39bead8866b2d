// Constant expressions behind weights. Exporters often do not hand a layer its
// weight as an initializer: torch.onnx without constant folding writes
// `MatMul(x, Transpose(W))`, slices packed q/k/v projections out of one
// `in_proj_weight` (with the slice bounds computed from `Shape` of another
// parameter), and reads de-duplicated parameters through `Identity`. Such a
// tensor is still a constant; `constantValue` computes it, so every place that
// reads a weight, a bias or a BatchNorm parameter sees the value, and
// `materializeWeightExpressions` turns those values into initializers before a
// model is fused and quantized.
//
// Only pure data-movement and small arithmetic ops are evaluated, and only when
// every input is itself constant; anything reading a graph input stays as is.
import { attrInt, attrInts, getAttr } from './attrs';
import { constantNodeValue } from './constants';
import type { GraphIndex, OnnxModel } from './model';
import { DT, type NodeProto, type TensorProto } from './proto';
import { makeTensor, numElements, tensorDims, tensorToTypedArray, type TensorData } from './tensor';
import { makeValueInfo } from './value-info';

/** Op types `constantValue` evaluates when all their inputs are constant. */
export const FOLDABLE_OP_TYPES = [
  'Identity', 'Constant', 'Transpose', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Slice', 'Gather', 'Split',
  'Concat', 'Cast', 'Shape', 'Add', 'Sub', 'Mul', 'Div', 'Neg', 'ConstantOfShape',
] as const;
const FOLDABLE = new Set<string>(FOLDABLE_OP_TYPES);

/** A folded value: dims, ONNX element type, elements (int64 as BigInt64Array). */
interface Value {
  dims: number[];
  dt: number;
  data: TensorData;
}

type Memo = Map<string, Value | null>;
const memos = new WeakMap<GraphIndex, Memo>();
/** deeper chains than this are not weight expressions (and would risk the stack) */
const MAX_DEPTH = 64;

/**
 * The value of tensor `name` when it is computed from constants alone: an
 * initializer, a Constant output, or a chain of FOLDABLE_OP_TYPES over them.
 * Initializers and Constant outputs come back as they are (no copy); computed
 * values as a new tensor named `name`. Undefined when any input is not constant,
 * an op is not foldable, or an element type cannot be handled.
 */
export function constantValue(idx: GraphIndex, name: string | undefined): TensorProto | undefined {
  if (!name) return undefined;
  const direct = idx.initializers.get(name) ?? idx.constants.get(name);
  if (direct) return direct;
  const producer = idx.producers.get(name);
  if (producer?.opType === 'Constant' && (producer.domain ?? '') === '') return constantNodeValue(producer);
  const v = evaluate(idx, name, 0);
  if (!v) return undefined;
  if (v.dt === DT.FLOAT16 || v.dt === DT.BFLOAT16) return undefined; // held as float32 here; not written back
  return makeTensor(name, v.dims, v.data, v.dt);
}

/** True when `name` is a constant that only a computation (not an initializer or Constant) produces. */
export function isComputedConstant(idx: GraphIndex, name: string | undefined): boolean {
  if (!name || idx.initializers.has(name) || idx.constants.has(name)) return false;
  const p = idx.producers.get(name);
  if (!p || p.opType === 'Constant') return false;
  return evaluate(idx, name, 0) !== undefined;
}

function memoOf(idx: GraphIndex): Memo {
  let m = memos.get(idx);
  if (!m) memos.set(idx, (m = new Map()));
  return m;
}

function fromTensor(t: TensorProto): Value | undefined {
  const dt = t.dataType ?? 0;
  if (dt === DT.STRING || dt === DT.COMPLEX64 || dt === DT.COMPLEX128 || dt === DT.UNDEFINED) return undefined;
  try {
    return { dims: tensorDims(t), dt, data: tensorToTypedArray(t, { float16AsFloat32: true }) };
  } catch {
    return undefined; // external data not resolved, element type this build does not read
  }
}

function evaluate(idx: GraphIndex, name: string, depth: number): Value | undefined {
  if (!name || depth > MAX_DEPTH) return undefined;
  const memo = memoOf(idx);
  const seen = memo.get(name);
  if (seen !== undefined) return seen ?? undefined;
  const t = idx.initializers.get(name) ?? idx.constants.get(name);
  let v: Value | undefined;
  if (t) v = fromTensor(t);
  else if (!idx.graphInputs.has(name)) {
    const node = idx.producers.get(name);
    if (node && (node.domain ?? '') === '' && FOLDABLE.has(node.opType ?? '')) {
      try {
        const outs = evalNode(idx, node, depth);
        // every output of the node is known now: remember them all (Split has several)
        if (outs) node.output.forEach((o, k) => { if (o) memo.set(o, outs[k] ?? null); });
        v = outs?.[node.output.indexOf(name)];
      } catch {
        v = undefined; // malformed expression (bad axes, shapes): not a constant we can use
      }
    }
  }
  memo.set(name, v ?? null);
  return v;
}

function evalNode(idx: GraphIndex, node: NodeProto, depth: number): Value[] | undefined {
  const op = node.opType ?? '';
  if (op === 'Constant') {
    const t = constantNodeValue(node);
    const v = t && fromTensor(t);
    return v ? [v] : undefined;
  }
  if (op === 'ConstantOfShape') {
    const shape = node.input[0] ? evaluate(idx, node.input[0], depth + 1) : undefined;
    if (!shape) return undefined;
    const dims = ints(shape);
    const vt = getAttr(node, 'value')?.t;
    const fill = vt ? fromTensor(vt) : { dims: [1], dt: DT.FLOAT, data: Float32Array.of(0) };
    if (!fill) return undefined;
    const data = alloc(fill.data, numElements(dims));
    (data as { fill(v: unknown): void }).fill(fill.data[0]);
    return [{ dims, dt: fill.dt, data }];
  }
  // Shape needs only its input's dims
  if (op === 'Shape') {
    const x = evaluate(idx, node.input[0], depth + 1);
    if (!x) return undefined;
    const r = x.dims.length;
    const clampAxis = (a: number) => Math.min(Math.max(a < 0 ? a + r : a, 0), r);
    const start = clampAxis(attrInt(node, 'start', 0));
    const end = clampAxis(attrInt(node, 'end', r));
    const dims = x.dims.slice(start, Math.max(start, end));
    return [{ dims: [dims.length], dt: DT.INT64, data: BigInt64Array.from(dims, (d) => BigInt(d)) }];
  }
  const inputs: (Value | undefined)[] = [];
  for (const i of node.input) {
    if (!i) { inputs.push(undefined); continue; }
    const v = evaluate(idx, i, depth + 1);
    if (!v) return undefined;
    inputs.push(v);
  }
  const x = inputs[0];
  if (!x) return undefined;
  switch (op) {
    case 'Identity': return [x];
    case 'Transpose': return [transpose(x, attrInts(node, 'perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i))];
    case 'Reshape': return [reshape(x, ints(req(inputs[1])), attrInt(node, 'allowzero', 0) === 1)];
    case 'Flatten': {
      const r = x.dims.length;
      const a = normAxis(attrInt(node, 'axis', 1), r + 1);
      return [{ ...x, dims: [numElements(x.dims.slice(0, a)), numElements(x.dims.slice(a))] }];
    }
    case 'Squeeze': {
      const axes = attrInts(node, 'axes') ?? (inputs[1] ? ints(inputs[1]) : undefined);
      const r = x.dims.length;
      const drop = new Set((axes ?? x.dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, r)));
      for (const a of drop) if (x.dims[a] !== 1) return undefined;
      return [{ ...x, dims: x.dims.filter((_, i) => !drop.has(i)) }];
    }
    case 'Unsqueeze': {
      const axes = attrInts(node, 'axes') ?? ints(req(inputs[1]));
      const r = x.dims.length + axes.length;
      const add = new Set(axes.map((a) => normAxis(a, r)));
      const dims: number[] = [];
      let k = 0;
      for (let i = 0; i < r; i++) dims.push(add.has(i) ? 1 : x.dims[k++]);
      return [{ ...x, dims }];
    }
    case 'Slice': return [slice(node, x, inputs)];
    case 'Gather': return [gather(x, req(inputs[1]), attrInt(node, 'axis', 0))];
    case 'Split': return split(node, x, inputs[1]);
    case 'Concat': return [concat(inputs.filter((v): v is Value => !!v), attrInt(node, 'axis', 0))];
    case 'Cast': return [cast(x, attrInt(node, 'to', DT.FLOAT))];
    case 'Neg': return [elementwise('Sub', { dims: [], dt: x.dt, data: alloc(x.data, 1) }, x)];
    case 'Add': case 'Sub': case 'Mul': case 'Div':
      return [elementwise(op, x, req(inputs[1]))];
  }
  return undefined;
}

function req(v: Value | undefined): Value {
  if (!v) throw new Error('missing input');
  return v;
}

function ints(v: Value): number[] {
  return Array.from(v.data as ArrayLike<number | bigint>, (e) => Number(e));
}

function normAxis(a: number, rank: number): number {
  const n = a < 0 ? a + rank : a;
  if (n < 0 || n >= rank) throw new Error(`axis ${a} out of range for rank ${rank}`);
  return n;
}

function alloc(like: TensorData, n: number): TensorData {
  return new (like.constructor as new (n: number) => TensorData)(n);
}

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) { s[i] = acc; acc *= dims[i]; }
  return s;
}

/** Copy elements by a source-offset function over the output's multi-index (the one loop every move shares). */
function gatherBy(x: Value, outDims: number[], srcOffset: (index: number[]) => number): Value {
  const n = numElements(outDims);
  const out = alloc(x.data, n) as unknown as { [i: number]: unknown };
  const src = x.data as unknown as { [i: number]: unknown };
  const index = new Array<number>(outDims.length).fill(0);
  for (let o = 0; o < n; o++) {
    out[o] = src[srcOffset(index)];
    for (let d = outDims.length - 1; d >= 0; d--) {
      if (++index[d] < outDims[d]) break;
      index[d] = 0;
    }
  }
  return { dims: outDims, dt: x.dt, data: out as unknown as TensorData };
}

function transpose(x: Value, perm: number[]): Value {
  const s = strides(x.dims);
  const outDims = perm.map((p) => x.dims[p]);
  return gatherBy(x, outDims, (idx) => {
    let off = 0;
    for (let i = 0; i < perm.length; i++) off += idx[i] * s[perm[i]];
    return off;
  });
}

function reshape(x: Value, shape: number[], allowZero: boolean): Value {
  const dims = shape.map((d, i) => (d === 0 && !allowZero ? x.dims[i] : d));
  const known = dims.reduce((a, d) => (d === -1 ? a : a * d), 1);
  const total = numElements(x.dims);
  const out = dims.map((d) => (d === -1 ? total / known : d));
  if (numElements(out) !== total || out.some((d) => !Number.isInteger(d) || d < 0)) throw new Error('bad reshape');
  return { ...x, dims: out };
}

function slice(node: NodeProto, x: Value, inputs: (Value | undefined)[]): Value {
  const r = x.dims.length;
  const fromAttrs = getAttr(node, 'starts') !== undefined;
  const starts = fromAttrs ? attrInts(node, 'starts')! : ints(req(inputs[1]));
  const ends = fromAttrs ? attrInts(node, 'ends')! : ints(req(inputs[2]));
  const axes = (fromAttrs ? attrInts(node, 'axes') : inputs[3] && ints(inputs[3])) ?? starts.map((_, i) => i);
  const steps = (!fromAttrs && inputs[4] ? ints(inputs[4]) : undefined) ?? starts.map(() => 1);
  const begin = x.dims.map(() => 0);
  const step = x.dims.map(() => 1);
  const outDims = [...x.dims];
  axes.forEach((a0, k) => {
    const a = normAxis(a0, r);
    const d = x.dims[a];
    const st = steps[k];
    if (st === 0) throw new Error('slice step 0');
    // ONNX clamping: starts/ends may be ±INT64_MAX (they come through Number as ±9.22e18)
    let s = starts[k] < 0 ? starts[k] + d : starts[k];
    let e = ends[k] < 0 ? ends[k] + d : ends[k];
    if (st > 0) { s = Math.min(Math.max(s, 0), d); e = Math.min(Math.max(e, 0), d); }
    else { s = Math.min(Math.max(s, -1), d - 1); e = Math.min(Math.max(e, -1), d - 1); }
    begin[a] = s;
    step[a] = st;
    outDims[a] = Math.max(0, Math.ceil((e - s) / st));
  });
  const s = strides(x.dims);
  return gatherBy(x, outDims, (idx) => {
    let off = 0;
    for (let i = 0; i < r; i++) off += (begin[i] + idx[i] * step[i]) * s[i];
    return off;
  });
}

function gather(x: Value, indices: Value, axis0: number): Value {
  const r = x.dims.length;
  const axis = normAxis(axis0, r);
  const ind = ints(indices).map((i) => (i < 0 ? i + x.dims[axis] : i));
  if (ind.some((i) => i < 0 || i >= x.dims[axis])) throw new Error('gather index out of range');
  const outDims = [...x.dims.slice(0, axis), ...indices.dims, ...x.dims.slice(axis + 1)];
  const s = strides(x.dims);
  const is = strides(indices.dims);
  const q = indices.dims.length;
  return gatherBy(x, outDims, (idx) => {
    let off = 0;
    for (let i = 0; i < axis; i++) off += idx[i] * s[i];
    let k = 0;
    for (let j = 0; j < q; j++) k += idx[axis + j] * is[j];
    off += ind[k] * s[axis];
    for (let i = axis + 1; i < r; i++) off += idx[i + q - 1] * s[i];
    return off;
  });
}

function split(node: NodeProto, x: Value, sizesInput: Value | undefined): Value[] {
  const r = x.dims.length;
  const axis = normAxis(attrInt(node, 'axis', 0), r);
  const d = x.dims[axis];
  const outputs = node.output.length;
  let sizes = attrInts(node, 'split') ?? (sizesInput ? ints(sizesInput) : undefined);
  if (!sizes) {
    // equal parts (opset 18's num_outputs: the last part may be smaller)
    const part = Math.ceil(d / outputs);
    sizes = Array.from({ length: outputs }, (_, k) => Math.max(0, Math.min(part, d - k * part)));
  }
  if (sizes.length !== outputs || sizes.reduce((a, b) => a + b, 0) !== d) throw new Error('bad split');
  const s = strides(x.dims);
  let at = 0;
  return sizes.map((size) => {
    const begin = at;
    at += size;
    const outDims = [...x.dims];
    outDims[axis] = size;
    return gatherBy(x, outDims, (idx) => {
      let off = 0;
      for (let i = 0; i < r; i++) off += (i === axis ? idx[i] + begin : idx[i]) * s[i];
      return off;
    });
  });
}

function concat(parts: Value[], axis0: number): Value {
  const first = parts[0];
  const r = first.dims.length;
  const axis = normAxis(axis0, r);
  if (parts.some((p) => p.dt !== first.dt || p.dims.length !== r || p.dims.some((d, i) => i !== axis && d !== first.dims[i]))) throw new Error('bad concat');
  const outDims = [...first.dims];
  outDims[axis] = parts.reduce((a, p) => a + p.dims[axis], 0);
  const outer = numElements(first.dims.slice(0, axis));
  const out = alloc(first.data, numElements(outDims)) as unknown as { set(a: ArrayLike<unknown>, o: number): void };
  let o = 0;
  for (let b = 0; b < outer; b++) {
    for (const p of parts) {
      const chunk = numElements(p.dims.slice(axis));
      out.set((p.data as unknown as { subarray(a: number, b: number): ArrayLike<unknown> }).subarray(b * chunk, (b + 1) * chunk), o);
      o += chunk;
    }
  }
  return { dims: outDims, dt: first.dt, data: out as unknown as TensorData };
}

const FLOAT_TYPES = new Set<number>([DT.FLOAT, DT.DOUBLE, DT.FLOAT16, DT.BFLOAT16]);

function cast(x: Value, to: number): Value {
  const src = x.data as ArrayLike<number | bigint>;
  const n = src.length;
  const num = (i: number) => Number(src[i]);
  let data: TensorData;
  switch (to) {
    case DT.FLOAT: case DT.FLOAT16: case DT.BFLOAT16: data = Float32Array.from({ length: n }, (_, i) => num(i)); break;
    case DT.DOUBLE: data = Float64Array.from({ length: n }, (_, i) => num(i)); break;
    case DT.INT64: data = BigInt64Array.from({ length: n }, (_, i) => (typeof src[i] === 'bigint' ? (src[i] as bigint) : BigInt(Math.trunc(num(i))))); break;
    case DT.INT32: data = Int32Array.from({ length: n }, (_, i) => Math.trunc(num(i))); break;
    case DT.INT8: data = Int8Array.from({ length: n }, (_, i) => Math.trunc(num(i))); break;
    case DT.UINT8: data = Uint8Array.from({ length: n }, (_, i) => Math.trunc(num(i))); break;
    case DT.BOOL: data = Uint8Array.from({ length: n }, (_, i) => (num(i) !== 0 ? 1 : 0)); break;
    default: throw new Error(`cast to type ${to}`);
  }
  return { dims: x.dims, dt: to, data };
}

/** Add/Sub/Mul/Div with numpy broadcasting; integers stay integers (Div truncates, as onnxruntime does). */
function elementwise(op: string, a: Value, b: Value): Value {
  if (a.dt !== b.dt) throw new Error('mixed element types');
  const r = Math.max(a.dims.length, b.dims.length);
  const ad = [...new Array(r - a.dims.length).fill(1), ...a.dims];
  const bd = [...new Array(r - b.dims.length).fill(1), ...b.dims];
  const outDims = ad.map((d, i) => {
    if (d !== bd[i] && d !== 1 && bd[i] !== 1) throw new Error('shapes do not broadcast');
    return d === 1 ? bd[i] : d;
  });
  const as = strides(ad).map((s, i) => (ad[i] === 1 ? 0 : s));
  const bs = strides(bd).map((s, i) => (bd[i] === 1 ? 0 : s));
  const n = numElements(outDims);
  const out = alloc(a.data, n) as unknown as { [i: number]: number | bigint };
  const A = a.data as unknown as { [i: number]: number | bigint };
  const B = b.data as unknown as { [i: number]: number | bigint };
  const isFloat = FLOAT_TYPES.has(a.dt);
  const index = new Array<number>(r).fill(0);
  for (let o = 0; o < n; o++) {
    let ao = 0, bo = 0;
    for (let i = 0; i < r; i++) { ao += index[i] * as[i]; bo += index[i] * bs[i]; }
    const x = A[ao], y = B[bo];
    if (typeof x === 'bigint' && typeof y === 'bigint') {
      if (op === 'Div' && y === 0n) throw new Error('integer division by zero');
      out[o] = op === 'Add' ? x + y : op === 'Sub' ? x - y : op === 'Mul' ? x * y : x / y;
    } else {
      const xn = x as number, yn = y as number;
      const v = op === 'Add' ? xn + yn : op === 'Sub' ? xn - yn : op === 'Mul' ? xn * yn : xn / yn;
      out[o] = isFloat ? v : Math.trunc(v);
    }
    for (let d = r - 1; d >= 0; d--) {
      if (++index[d] < outDims[d]) break;
      index[d] = 0;
    }
  }
  return { dims: outDims, dt: a.dt, data: out as unknown as TensorData };
}

/** True when `name` is computed from a graph input (data), not from constants alone. */
export function dependsOnData(idx: GraphIndex, name: string): boolean {
  const seen = new Set<string>();
  const stack = [name];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    if (idx.graphInputs.has(t)) return true;
    const p = idx.producers.get(t);
    if (p) for (const i of p.input) if (i) stack.push(i);
  }
  return false;
}

/** Which inputs of a node are weights, biases or BatchNorm parameters (what quantization and fusion read). */
export function weightInputIndices(node: NodeProto): number[] {
  if ((node.domain ?? '') !== '') return [];
  switch (node.opType) {
    case 'Conv': case 'ConvTranspose': case 'Gemm': return [1, 2];
    case 'MatMul': return [1];
    case 'BatchNormalization': return [1, 2, 3, 4];
    // a per-channel Mul/Add after a BatchNormalization is folded into it
    case 'Mul': case 'Add': return [0, 1];
  }
  return [];
}

export interface MaterializeResult {
  /** tensors that are now initializers (they were computed from constants) */
  tensors: string[];
  /** nodes removed: the computations above, once nothing else read them */
  removedNodes: number;
}

/**
 * Replace every weight, bias or BatchNorm parameter that is computed from
 * constants (see constantValue) by an initializer of the same name, and drop
 * the computation when nothing else reads it. The model computes the same
 * function; layers that read one tensor keep reading one tensor (shared
 * weights stay shared). Edits in place.
 */
export function materializeWeightExpressions(model: OnnxModel): MaterializeResult {
  const g = model.graph;
  const idx = g.index();
  const targets = new Set<string>();
  for (const n of g.nodes) for (const k of weightInputIndices(n)) if (isComputedConstant(idx, n.input[k])) targets.add(n.input[k]);
  const result: MaterializeResult = { tensors: [], removedNodes: 0 };
  if (targets.size === 0) return result;
  // a producer goes away when all its outputs are materialized or unread; otherwise its other outputs
  // would lose their producer, so the weight gets an initializer under a new name instead
  const producersDone = new Set<NodeProto>();
  for (const name of targets) {
    const node = idx.producers.get(name)!;
    const value = constantValue(idx, name)!;
    const keepsOthers = node.output.some((o) => o && o !== name && !targets.has(o) && (idx.consumers.has(o) || idx.graphOutputs.has(o)));
    if (idx.graphOutputs.has(name) || keepsOthers) {
      const fresh = g.uniqueName(`${name}_folded`);
      addConstant(model, { ...value, name: fresh });
      for (const r of idx.consumers.get(name) ?? []) r.input = r.input.map((i) => (i === name ? fresh : i));
      result.tensors.push(fresh);
      continue;
    }
    addConstant(model, value);
    producersDone.add(node);
    result.tensors.push(name);
  }
  for (const n of producersDone) { g.removeNode(n); result.removedNodes++; }
  result.removedNodes += removeDeadConstantComputations(model);
  g.removeUnusedInitializers();
  return result;
}

function addConstant(model: OnnxModel, t: TensorProto): void {
  model.graph.addInitializer(t);
  // before IR 4 every initializer also had to be declared as a graph input
  if (model.irVersion < 4) model.graph.inputs.push(makeValueInfo(t.name ?? '', t.dataType ?? DT.FLOAT, tensorDims(t)));
}

/** Remove foldable nodes whose outputs nobody reads any more, repeatedly (a chain dies from its end). */
function removeDeadConstantComputations(model: OnnxModel): number {
  const g = model.graph;
  let removed = 0;
  for (;;) {
    const idx = g.index();
    const dead = g.nodes.filter((n) => (n.domain ?? '') === '' && FOLDABLE.has(n.opType ?? '') &&
      n.output.every((o) => !o || (!idx.consumers.has(o) && !idx.graphOutputs.has(o))));
    if (dead.length === 0) return removed;
    for (const n of dead) g.removeNode(n);
    removed += dead.length;
  }
}
