// Control-flow bodies (If branches, Loop and Scan bodies) as scopes of the model.
//
// A node inside a body is addressed by a scoped name: the owning node's scoped
// name, the graph attribute holding the body, and the node's own name, joined
// by '/' — `branch/then_branch/conv1`, `refine/body/conv`, and deeper for
// nested bodies. Top-level nodes keep their plain names. Every body's nodes get
// deterministic names when the model is loaded (names.ts), so a scoped name is
// unique and the same on every load.
//
// A body may read tensors of the scopes around it (outer-scope references:
// activations, and weights that are outer initializers). `scopeIndex` merges
// what the enclosing scopes hold into the body's own index, so weight look-ups
// (quantizable layers, export) resolve them as they resolve local ones.
import type { GraphIndex } from './model';
import { Graph, OnnxModel } from './model';
import type { GraphProto, NodeProto } from './proto';

export interface Scope {
  /** '' for the main graph, else `<owner's scoped name>/<attribute>` */
  path: string;
  graph: Graph;
  /** the If/Loop/Scan node holding this body, and the scope it sits in */
  owner?: NodeProto;
  ownerScope?: Scope;
  /** the graph attribute holding this body (then_branch, else_branch, body) */
  attr?: string;
}

/** `scope.path/node`, or the node's plain name in the main graph. */
export function scopedNodeName(scope: Scope, nodeName: string): string {
  return scope.path ? `${scope.path}/${nodeName}` : nodeName;
}

/** The bodies held by one node, as (attribute name, graph) pairs. */
export function bodiesOf(node: NodeProto): { attr: string; graph: GraphProto }[] {
  const out: { attr: string; graph: GraphProto }[] = [];
  for (const a of node.attribute) {
    if (a.g) out.push({ attr: a.name ?? '', graph: a.g });
    a.graphs.forEach((g, i) => out.push({ attr: `${a.name ?? ''}[${i}]`, graph: g }));
  }
  return out;
}

/** Every scope of the model: the main graph first, then bodies depth-first in node order. */
export function graphScopes(model: OnnxModel): Scope[] {
  const out: Scope[] = [];
  const visit = (scope: Scope) => {
    out.push(scope);
    for (const node of scope.graph.nodes) {
      for (const b of bodiesOf(node)) {
        visit({ path: scopedNodeName(scope, `${node.name ?? ''}/${b.attr}`), graph: new Graph(b.graph), owner: node, ownerScope: scope, attr: b.attr });
      }
    }
  };
  visit({ path: '', graph: model.graph });
  return out;
}

/** Only the bodies (every scope but the main graph). */
export function bodyScopes(model: OnnxModel): Scope[] {
  return graphScopes(model).slice(1);
}

/**
 * The body's own index, plus the initializers, Constant outputs and value info
 * of the enclosing scopes it can see (a local name shadows an outer one).
 */
export function scopeIndex(scope: Scope): GraphIndex {
  const idx = scope.graph.index();
  const local = new Set<string>([...idx.producers.keys(), ...scope.graph.inputs.map((v) => v.name ?? '')]);
  for (let s = scope.ownerScope; s; s = s.ownerScope) {
    const outer = s.graph.index();
    for (const [k, v] of outer.initializers) if (!idx.initializers.has(k) && !local.has(k)) idx.initializers.set(k, v);
    for (const [k, v] of outer.constants) if (!idx.constants.has(k) && !local.has(k) && !idx.initializers.has(k)) idx.constants.set(k, v);
    for (const [k, v] of outer.valueInfo) if (!idx.valueInfo.has(k)) idx.valueInfo.set(k, v);
    for (const n of s.graph.nodes) for (const o of n.output) if (o) local.add(o);
    for (const v of s.graph.inputs) if (v.name) local.add(v.name);
  }
  return idx;
}

/** The node a scoped name addresses, with its scope (undefined when there is none). */
export function resolveScopedNode(model: OnnxModel, name: string): { scope: Scope; node: NodeProto } | undefined {
  const top = model.graph.getNode(name);
  if (top) return { scope: { path: '', graph: model.graph }, node: top };
  for (const scope of bodyScopes(model)) {
    if (!name.startsWith(`${scope.path}/`)) continue;
    const node = scope.graph.getNode(name.slice(scope.path.length + 1));
    if (node) return { scope, node };
  }
  return undefined;
}

/**
 * A model whose graph is the body itself (edits go straight into the body), with the model's opsets, so
 * graph rewrites written for a whole model (QDQ export) can run inside a body.
 */
export function scopeModel(model: OnnxModel, scope: Scope): OnnxModel {
  if (!scope.owner) return model;
  return new OnnxModel({ ...model.proto, graph: scope.graph.proto }, model.path);
}

/** Every tensor name used anywhere in the model, bodies included (new names must avoid all of them: SSA). */
export function allTensorNames(model: OnnxModel): Set<string> {
  const used = new Set<string>();
  for (const s of graphScopes(model)) {
    const g = s.graph;
    for (const n of g.nodes) {
      if (n.name) used.add(n.name);
      for (const t of [...n.input, ...n.output]) if (t) used.add(t);
    }
    for (const t of g.initializers) if (t.name) used.add(t.name);
    for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo]) if (v.name) used.add(v.name);
  }
  return used;
}
