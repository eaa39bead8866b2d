// Reading and writing node attributes without caring about protobuf details.
import { ATTR, toNum, type AttributeProto, type GraphProto, type NodeProto, type TensorProto } from './proto';

export function getAttr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

export function hasAttr(node: NodeProto, name: string): boolean {
  return getAttr(node, name) !== undefined;
}

export function attrInt(node: NodeProto, name: string, fallback: number): number;
export function attrInt(node: NodeProto, name: string): number | undefined;
export function attrInt(node: NodeProto, name: string, fallback?: number): number | undefined {
  const a = getAttr(node, name);
  return a && a.i !== undefined ? toNum(a.i) : fallback;
}

export function attrFloat(node: NodeProto, name: string, fallback: number): number;
export function attrFloat(node: NodeProto, name: string): number | undefined;
export function attrFloat(node: NodeProto, name: string, fallback?: number): number | undefined {
  const a = getAttr(node, name);
  return a && a.f !== undefined ? a.f : fallback;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = getAttr(node, name);
  return a ? a.ints.map((v) => toNum(v)) : undefined;
}

export function attrFloats(node: NodeProto, name: string): number[] | undefined {
  const a = getAttr(node, name);
  return a ? [...a.floats] : undefined;
}

export function attrString(node: NodeProto, name: string): string | undefined {
  const a = getAttr(node, name);
  return a && a.s !== undefined ? new TextDecoder().decode(a.s) : undefined;
}

export function attrTensor(node: NodeProto, name: string): TensorProto | undefined {
  return getAttr(node, name)?.t;
}

function emptyAttr(name: string, type: number): AttributeProto {
  return { name, type, floats: [], ints: [], strings: [], tensors: [], graphs: [], sparseTensors: [], typeProtos: [] };
}

export type AttrValue = number | number[] | string | string[] | TensorProto | GraphProto | { float: number } | { floats: number[] };

/**
 * Build an attribute. Integers (and integer lists) become INT/INTS; wrap a
 * float as `{ float: x }` / `{ floats: [...] }` since JS cannot tell 1 from 1.0.
 */
export function makeAttr(name: string, value: AttrValue): AttributeProto {
  if (typeof value === 'number') return { ...emptyAttr(name, ATTR.INT), i: value };
  if (typeof value === 'string') return { ...emptyAttr(name, ATTR.STRING), s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return { ...emptyAttr(name, ATTR.STRINGS), strings: (value as string[]).map((s) => new TextEncoder().encode(s)) };
    return { ...emptyAttr(name, ATTR.INTS), ints: [...(value as number[])] };
  }
  if ('float' in value) return { ...emptyAttr(name, ATTR.FLOAT), f: value.float };
  if ('floats' in value) return { ...emptyAttr(name, ATTR.FLOATS), floats: [...value.floats] };
  if ('node' in value) return { ...emptyAttr(name, ATTR.GRAPH), g: value };
  return { ...emptyAttr(name, ATTR.TENSOR), t: value };
}

/** Set (replace or add) an attribute. */
export function setAttr(node: NodeProto, name: string, value: AttrValue): void {
  const a = makeAttr(name, value);
  const i = node.attribute.findIndex((x) => x.name === name);
  if (i >= 0) node.attribute[i] = a;
  else node.attribute.push(a);
}

export function removeAttr(node: NodeProto, name: string): AttributeProto | undefined {
  const i = node.attribute.findIndex((x) => x.name === name);
  return i >= 0 ? node.attribute.splice(i, 1)[0] : undefined;
}

/** Subgraphs held by a node's attributes (If branches, Loop/Scan bodies). */
export function subgraphsOf(node: NodeProto): GraphProto[] {
  const out: GraphProto[] = [];
  for (const a of node.attribute) {
    if (a.g) out.push(a.g);
    out.push(...a.graphs);
  }
  return out;
}

export interface MakeNodeOptions {
  name?: string;
  domain?: string;
  attrs?: Record<string, AttrValue>;
}

export function makeNode(opType: string, inputs: string[], outputs: string[], opts: MakeNodeOptions = {}): NodeProto {
  const node: NodeProto = { input: [...inputs], output: [...outputs], opType, attribute: [] };
  if (opts.name !== undefined) node.name = opts.name;
  if (opts.domain !== undefined) node.domain = opts.domain;
  for (const [k, v] of Object.entries(opts.attrs ?? {})) node.attribute.push(makeAttr(k, v));
  return node;
}
