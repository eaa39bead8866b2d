// The mutable model wrapper every rewrite (fusion, QDQ export, exposing
// tensors) works on. It holds the decoded protobuf objects directly: edits to
// `graph.nodes`, `graph.initializers` etc. are what gets saved. Look-up maps
// are built on demand by `graph.index()` (O(nodes)) rather than cached, so a
// stale map can never outlive an edit.
import { QtuneError } from '../../shared/errors';
import { toNum, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from './proto';
import { attrTensor, subgraphsOf } from './attrs';
import { freshName } from './names';

export interface GraphIndex {
  /** tensor name → the node producing it */
  producers: Map<string, NodeProto>;
  /** tensor name → nodes reading it (explicit inputs, plus outer-scope reads inside If/Loop/Scan bodies) */
  consumers: Map<string, NodeProto[]>;
  initializers: Map<string, TensorProto>;
  /** tensor name → the `value` tensor of the Constant node producing it */
  constants: Map<string, TensorProto>;
  /** tensor name → value info (graph inputs, outputs and value_info entries) */
  valueInfo: Map<string, ValueInfoProto>;
  /** node → its position in graph.nodes */
  position: Map<NodeProto, number>;
  graphInputs: Set<string>;
  graphOutputs: Set<string>;
}

/** Names a subgraph reads from enclosing scopes (not produced or held inside it). */
export function outerScopeInputs(g: GraphProto): Set<string> {
  const local = new Set<string>();
  for (const v of g.input) if (v.name) local.add(v.name);
  for (const t of g.initializer) if (t.name) local.add(t.name);
  for (const n of g.node) for (const o of n.output) local.add(o);
  const out = new Set<string>();
  for (const n of g.node) {
    for (const i of n.input) if (i && !local.has(i)) out.add(i);
    for (const sg of subgraphsOf(n)) for (const i of outerScopeInputs(sg)) if (!local.has(i)) out.add(i);
  }
  for (const v of g.output) if (v.name && !local.has(v.name)) out.add(v.name);
  return out;
}

/** Every tensor a node reads, in order: its inputs, then outer-scope reads of its subgraphs. */
export function nodeReads(node: NodeProto): string[] {
  const reads = node.input.filter((i) => i !== '');
  for (const sg of subgraphsOf(node)) for (const i of outerScopeInputs(sg)) if (!reads.includes(i)) reads.push(i);
  return reads;
}

export class Graph {
  constructor(public readonly proto: GraphProto) {}

  get name(): string { return this.proto.name ?? ''; }
  get nodes(): NodeProto[] { return this.proto.node; }
  get initializers(): TensorProto[] { return this.proto.initializer; }
  /** graph inputs as declared (IR < 4 models also list initializers here) */
  get inputs(): ValueInfoProto[] { return this.proto.input; }
  get outputs(): ValueInfoProto[] { return this.proto.output; }
  get valueInfo(): ValueInfoProto[] { return this.proto.valueInfo; }

  /** graph inputs a caller must feed (those without an initializer of the same name) */
  get feedInputs(): ValueInfoProto[] {
    const inits = new Set(this.proto.initializer.map((t) => t.name));
    return this.proto.input.filter((v) => !inits.has(v.name));
  }

  index(): GraphIndex {
    const producers = new Map<string, NodeProto>();
    const consumers = new Map<string, NodeProto[]>();
    const constants = new Map<string, TensorProto>();
    const position = new Map<NodeProto, number>();
    this.proto.node.forEach((n, i) => {
      position.set(n, i);
      for (const o of n.output) if (o) producers.set(o, n);
      for (const r of nodeReads(n)) {
        const list = consumers.get(r);
        if (list) list.push(n);
        else consumers.set(r, [n]);
      }
      if (n.opType === 'Constant' && (n.domain ?? '') === '' && n.output[0]) {
        const t = attrTensor(n, 'value');
        if (t) constants.set(n.output[0], t);
      }
    });
    const initializers = new Map<string, TensorProto>();
    for (const t of this.proto.initializer) initializers.set(t.name ?? '', t);
    const valueInfo = new Map<string, ValueInfoProto>();
    for (const v of this.proto.valueInfo) valueInfo.set(v.name ?? '', v);
    for (const v of this.proto.input) valueInfo.set(v.name ?? '', v);
    for (const v of this.proto.output) valueInfo.set(v.name ?? '', v);
    return {
      producers, consumers, initializers, constants, valueInfo, position,
      graphInputs: new Set(this.feedInputs.map((v) => v.name ?? '')),
      graphOutputs: new Set(this.proto.output.map((v) => v.name ?? '')),
    };
  }

  getInitializer(name: string): TensorProto | undefined {
    return this.proto.initializer.find((t) => t.name === name);
  }

  /** Add an initializer, replacing one of the same name. */
  addInitializer(t: TensorProto): TensorProto {
    const i = this.proto.initializer.findIndex((x) => x.name === t.name);
    if (i >= 0) this.proto.initializer[i] = t;
    else this.proto.initializer.push(t);
    return t;
  }

  removeInitializer(name: string): boolean {
    const i = this.proto.initializer.findIndex((x) => x.name === name);
    if (i < 0) return false;
    this.proto.initializer.splice(i, 1);
    // IR < 4 models also declare initializers as graph inputs
    const j = this.proto.input.findIndex((v) => v.name === name);
    if (j >= 0) this.proto.input.splice(j, 1);
    return true;
  }

  getNode(name: string): NodeProto | undefined {
    return this.proto.node.find((n) => n.name === name);
  }

  /** Insert nodes at `at` (default: the end; call sortTopologically() after appending out of order). */
  addNode(node: NodeProto, at = this.proto.node.length): NodeProto {
    this.proto.node.splice(at, 0, node);
    return node;
  }

  /** Insert `nodes` right after `anchor` in node-list order. */
  insertAfter(anchor: NodeProto, ...nodes: NodeProto[]): void {
    const i = this.proto.node.indexOf(anchor);
    if (i < 0) throw new QtuneError('onnx_graph', `insertAfter: node '${anchor.name}' is not in graph '${this.name}'`);
    this.proto.node.splice(i + 1, 0, ...nodes);
  }

  removeNode(node: NodeProto | string): NodeProto {
    const i = typeof node === 'string' ? this.proto.node.findIndex((n) => n.name === node) : this.proto.node.indexOf(node);
    if (i < 0) throw new QtuneError('onnx_graph', `removeNode: node '${typeof node === 'string' ? node : node.name}' not found`, { layer: typeof node === 'string' ? node : node.name });
    return this.proto.node.splice(i, 1)[0];
  }

  /** Point every reader of tensor `from` (and graph outputs named `from`) at `to`. */
  replaceAllUses(from: string, to: string, opts: { includeGraphOutputs?: boolean } = {}): void {
    for (const n of this.proto.node) n.input.forEach((x, k) => { if (x === from) n.input[k] = to; });
    if (opts.includeGraphOutputs) for (const v of this.proto.output) if (v.name === from) v.name = to;
  }

  /** A name for a new tensor or node that collides with nothing in the graph. */
  uniqueName(base: string): string {
    const used = this.allNames();
    return freshName(base, (x) => used.has(x));
  }

  private allNames(): Set<string> {
    const s = new Set<string>();
    for (const n of this.proto.node) {
      if (n.name) s.add(n.name);
      for (const o of n.output) s.add(o);
      for (const i of n.input) s.add(i);
    }
    for (const t of this.proto.initializer) if (t.name) s.add(t.name);
    for (const v of [...this.proto.input, ...this.proto.output, ...this.proto.valueInfo]) if (v.name) s.add(v.name);
    return s;
  }

  /**
   * Nodes in a topological order: Kahn's algorithm, always taking the ready
   * node that comes first in the current list, so an already sorted graph
   * keeps its order exactly. Throws on a cycle.
   */
  topologicalOrder(): NodeProto[] {
    const nodes = this.proto.node;
    const producerIdx = new Map<string, number>();
    nodes.forEach((n, i) => { for (const o of n.output) if (o) producerIdx.set(o, i); });
    const indeg = new Int32Array(nodes.length);
    const succ: number[][] = nodes.map(() => []);
    nodes.forEach((n, i) => {
      for (const r of new Set(nodeReads(n))) {
        const p = producerIdx.get(r);
        if (p !== undefined && p !== i) { succ[p].push(i); indeg[i]++; }
      }
    });
    // min-heap of ready indices
    const heap: number[] = [];
    const push = (v: number) => {
      heap.push(v);
      let c = heap.length - 1;
      while (c > 0) { const p = (c - 1) >> 1; if (heap[p] <= heap[c]) break; [heap[p], heap[c]] = [heap[c], heap[p]]; c = p; }
    };
    const pop = (): number => {
      const top = heap[0];
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        let p = 0;
        for (;;) {
          const l = 2 * p + 1, r = l + 1;
          let m = p;
          if (l < heap.length && heap[l] < heap[m]) m = l;
          if (r < heap.length && heap[r] < heap[m]) m = r;
          if (m === p) break;
          [heap[p], heap[m]] = [heap[m], heap[p]];
          p = m;
        }
      }
      return top;
    };
    indeg.forEach((d, i) => { if (d === 0) push(i); });
    const order: NodeProto[] = [];
    while (heap.length > 0) {
      const i = pop();
      order.push(nodes[i]);
      for (const s of succ[i]) if (--indeg[s] === 0) push(s);
    }
    if (order.length !== nodes.length) {
      const stuck = nodes.find((_, i) => indeg[i] > 0);
      throw new QtuneError('onnx_graph', `Graph '${this.name}' has a cycle through node '${stuck?.name ?? '?'}'`, { layer: stuck?.name });
    }
    return order;
  }

  /** Reorder graph.nodes topologically (stable). */
  sortTopologically(): void {
    const order = this.topologicalOrder();
    this.proto.node.splice(0, this.proto.node.length, ...order);
  }

  /** Initializers and Constant outputs read by more than one node (name → readers). */
  sharedWeights(idx: GraphIndex = this.index()): Map<string, NodeProto[]> {
    const out = new Map<string, NodeProto[]>();
    for (const name of [...idx.initializers.keys(), ...idx.constants.keys()]) {
      const readers = idx.consumers.get(name) ?? [];
      if (readers.length > 1) out.set(name, readers);
    }
    return out;
  }

  /** Drop initializers nothing reads (e.g. after fusion). Returns their names. */
  removeUnusedInitializers(): string[] {
    const idx = this.index();
    const outputs = idx.graphOutputs;
    const dead = this.proto.initializer.filter((t) => !idx.consumers.has(t.name ?? '') && !outputs.has(t.name ?? '')).map((t) => t.name ?? '');
    for (const n of dead) this.removeInitializer(n);
    return dead;
  }
}

export class OnnxModel {
  readonly graph: Graph;
  /** node names qtune made up for unnamed or duplicate nodes (old name → new is by position) */
  generatedNames = new Set<string>();

  constructor(
    public readonly proto: ModelProto,
    /** the file it was loaded from, for error messages and external data */
    public path?: string,
  ) {
    if (!proto.graph) throw new QtuneError('onnx_load', `${path ?? 'model'}: has no graph`, { file: path });
    this.graph = new Graph(proto.graph);
  }

  get irVersion(): number { return toNum(this.proto.irVersion); }

  /** Opset version imported for `domain` ('' = default ONNX domain), or undefined. */
  opsetVersion(domain = ''): number | undefined {
    const norm = (d: string | undefined) => (d === 'ai.onnx' ? '' : d ?? '');
    const imp = this.proto.opsetImport.find((o) => norm(o.domain) === norm(domain));
    return imp ? toNum(imp.version) : undefined;
  }

  setOpsetVersion(version: number, domain = ''): void {
    const norm = (d: string | undefined) => (d === 'ai.onnx' ? '' : d ?? '');
    const imp = this.proto.opsetImport.find((o) => norm(o.domain) === norm(domain));
    if (imp) imp.version = version;
    else this.proto.opsetImport.push({ domain, version });
  }

  /**
   * A structural copy: every message object and array is new, tensor payloads
   * (Uint8Array views) and Long values are shared, so cloning a large model is
   * cheap and editing the clone never touches the original's structure.
   */
  clone(): OnnxModel {
    const m = new OnnxModel(deepClone(this.proto), this.path);
    m.generatedNames = new Set(this.generatedNames);
    return m;
  }
}

function deepClone<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepClone) as T;
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return v;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v; // Long and other value objects
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v as object)) out[k] = deepClone((v as Record<string, unknown>)[k]);
  return out as T;
}
