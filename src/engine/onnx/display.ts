// The graph as the renderer draws it. Weights (initializers and Constant
// nodes) are folded into their consumers: they show as parameter counts, not
// as nodes or edges, which keeps a 10,000-node graph drawable.
import type { DisplayBody, DisplayEdge, DisplayGraph, DisplayNode } from '../../shared/graph';
import { ATTR, toNum, type AttributeProto } from './proto';
import { nodeReads, type OnnxModel } from './model';
import type { NodeProto } from './proto';
import { bodyScopes, scopedNodeName, scopeIndex } from './subgraphs';
import { findQuantizableLayers, type LayerInfo } from './quantizable';
import { tensorNumElements } from './tensor';
import { shapeOf } from './value-info';

function attrText(a: AttributeProto): string | undefined {
  switch (a.type) {
    case ATTR.INT: return String(toNum(a.i));
    case ATTR.FLOAT: return String(a.f);
    case ATTR.STRING: return a.s ? new TextDecoder().decode(a.s) : '';
    case ATTR.INTS: return a.ints.map((v) => toNum(v)).join(a.name === 'kernel_shape' ? 'x' : ',');
    case ATTR.FLOATS: return a.floats.join(',');
    case ATTR.GRAPH: return 'subgraph';
    case ATTR.GRAPHS: return `${a.graphs.length} subgraphs`;
    default: return undefined;
  }
}

/**
 * `inferred`: shapes found by running the model (see inferTensorTypes), for
 * tensors the file declares no shape for; a declared shape always wins.
 */
export function toDisplayGraph(model: OnnxModel, inferred?: ReadonlyMap<string, (number | string)[]>): DisplayGraph {
  const g = model.graph;
  const idx = g.index();
  const layers = new Map(findQuantizableLayers(model, idx).map((l) => [l.name, l]));
  const isWeight = (t: string) => idx.initializers.has(t) || idx.constants.has(t);
  const shapes = new Map<string, (number | string)[]>(inferred ?? []);
  for (const [name, v] of idx.valueInfo) {
    const s = shapeOf(v.type);
    if (s) shapes.set(name, s);
  }
  const nodes: DisplayNode[] = [];
  const edges: DisplayEdge[] = [];
  const edge = (from: string, to: string, tensor: string) => {
    const e: DisplayEdge = { from, to, tensor };
    const s = shapes.get(tensor);
    if (s) e.shape = s;
    edges.push(e);
  };
  for (const n of g.nodes) {
    if (n.opType === 'Constant' && (n.domain ?? '') === '') continue;
    const id = n.name ?? '';
    let params = 0;
    // (nodeReads: an If/Loop/Scan node also reads what its bodies take from this graph)
    for (const i of nodeReads(n)) {
      const w = idx.initializers.get(i) ?? idx.constants.get(i);
      if (w) { params += tensorNumElements(w); continue; }
      const p = idx.producers.get(i);
      if (p) edge(p.name ?? '', id, i);
      else if (idx.graphInputs.has(i)) edge(`input:${i}`, id, i);
    }
    const layer = layers.get(id);
    const attrs: Record<string, string> = {};
    for (const a of n.attribute) {
      const t = attrText(a);
      if (t !== undefined && a.name) attrs[a.name] = t.length > 60 ? t.slice(0, 57) + '...' : t;
    }
    const dn: DisplayNode = {
      id, opType: n.opType ?? '', inputs: [...n.input], outputs: [...n.output], params,
      quantizable: layer?.quantizable ?? false,
    };
    if (layer?.reason) dn.reason = layer.reason;
    if (layer?.why) dn.why = layer.why;
    if (Object.keys(attrs).length > 0) dn.attrs = attrs;
    nodes.push(dn);
  }
  for (const o of g.outputs) {
    const name = o.name ?? '';
    const p = idx.producers.get(name);
    if (p && !isWeight(name)) edge(p.name ?? '', `output:${name}`, name);
    else if (idx.graphInputs.has(name)) edge(`input:${name}`, `output:${name}`, name);
  }
  const bodies = displayBodies(model, layers, shapes);
  return {
    nodes, edges,
    inputs: g.feedInputs.map((v) => v.name ?? ''),
    outputs: g.outputs.map((v) => v.name ?? ''),
    ...(bodies.length ? { bodies } : {}),
  };
}

/** Every If/Loop/Scan body as the renderer expands it in place of its node (see DisplayBody). */
function displayBodies(model: OnnxModel, layers: ReadonlyMap<string, LayerInfo>, shapes: Map<string, (number | string)[]>): DisplayBody[] {
  const out: DisplayBody[] = [];
  for (const scope of bodyScopes(model)) {
    const owner = scope.owner!;
    const ownerId = scopedNodeName(scope.ownerScope!, owner.name ?? '');
    const idx = scopeIndex(scope);
    const local = scope.graph.index();
    for (const v of scope.graph.valueInfo) { const s = shapeOf(v.type); if (s && !shapes.has(v.name ?? '')) shapes.set(v.name ?? '', s); }
    const id = (n: NodeProto) => scopedNodeName(scope, n.name ?? '');
    const bodyInputs = scope.graph.inputs.map((v) => v.name ?? '');
    // body input j is the owner's input j (Loop: trip count, condition, carried values; Scan: states, scanned inputs)
    const nodes: DisplayNode[] = [];
    const edges: DisplayEdge[] = [];
    const entries: DisplayBody['entries'] = [];
    for (const n of scope.graph.nodes) {
      if (n.opType === 'Constant' && (n.domain ?? '') === '') continue;
      let params = 0;
      for (const i of nodeReads(n)) {
        const w = idx.initializers.get(i) ?? idx.constants.get(i);
        if (w) { params += tensorNumElements(w); continue; }
        const p = local.producers.get(i);
        if (p) edges.push({ from: id(p), to: id(n), tensor: i, ...(shapes.get(i) ? { shape: shapes.get(i) } : {}) });
        else if (bodyInputs.includes(i)) entries.push({ to: id(n), tensor: i, ownerInput: bodyInputs.indexOf(i) });
        else entries.push({ to: id(n), tensor: i });
      }
      const layer = layers.get(id(n));
      const dn: DisplayNode = { id: id(n), opType: n.opType ?? '', inputs: [...n.input], outputs: [...n.output], params, quantizable: layer?.quantizable ?? false };
      if (layer?.reason) dn.reason = layer.reason;
      nodes.push(dn);
    }
    // If: branch output k is the node's output k; Loop: body output k + 1 (after the condition); Scan: k
    const skip = owner.opType === 'Loop' ? 1 : 0;
    const exits: DisplayBody['exits'] = [];
    scope.graph.outputs.forEach((v, k) => {
      const p = local.producers.get(v.name ?? '');
      if (p && k >= skip) exits.push({ from: id(p), tensor: v.name ?? '', ownerOutput: k - skip });
    });
    out.push({ owner: ownerId, path: scope.path, nodes, edges, entries, exits });
  }
  return out;
}
