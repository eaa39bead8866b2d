// Layered, top-to-bottom layout of a DisplayGraph. Pure: no DOM, so it runs in
// the layout web worker and in Node tests alike.
//
// Small graphs go through dagre whole. dagre does not scale to deep models: its
// recursive passes overflow the stack past ~2,500 nodes of depth and its cost
// grows faster than linearly, so a large graph is cut, in topological order, into
// runs of ~`columnSize` nodes at the points where the fewest tensors are live
// (after an Add in a residual net, only one). Each run is laid out by dagre and
// the runs are set side by side as columns; the few edges between columns are
// routed below the source column, up the gutter and across the top.
import dagre from '@dagrejs/dagre';
import { QtuneError } from '../../shared/errors';
import type { DisplayGraph } from '../../shared/graph';
import { attrSummary, endpointLabel, estimateTextWidth } from './labels';

export interface Point {
  x: number;
  y: number;
}

export type LayoutNodeKind = 'op' | 'input' | 'output';

/** A placed box; (x, y) is its centre, w × h its size, all in layout pixels. */
export interface LayoutNode {
  id: string;
  kind: LayoutNodeKind;
  x: number;
  y: number;
  w: number;
  h: number;
  /** which column the node sits in (0 when the graph was laid out whole) */
  column: number;
}

export interface LayoutEdge {
  from: string;
  to: string;
  tensor: string;
  /** polyline from the producer's border to the consumer's border */
  points: Point[];
  /** where the edge's shape label starts (left end, text baseline) */
  label: Point;
}

export interface GraphLayout {
  nodes: LayoutNode[];
  edges: LayoutEdge[];
  width: number;
  height: number;
  columns: number;
  method: 'dagre' | 'dagre-columns';
}

export interface LayoutOptions {
  /** graphs with at most this many boxes are laid out by dagre in one piece */
  maxWholeGraphNodes?: number;
  /** target number of boxes per column when the graph is cut into columns */
  columnSize?: number;
}

export const OP_NODE_HEIGHT = 38;
export const ENDPOINT_NODE_HEIGHT = 24;
const NODE_MIN_WIDTH = 84;
const NODE_MAX_WIDTH = 200;
const COLUMN_GUTTER = 90;
/** room above and below the columns for edges that hop between columns */
const LANE_MARGIN = 48;
const DAGRE_GRAPH = { rankdir: 'TB', nodesep: 24, ranksep: 34, edgesep: 10, marginx: 0, marginy: 0 } as const;

interface Box {
  id: string;
  kind: LayoutNodeKind;
  w: number;
  h: number;
  /** order key: the ONNX node order, inputs first, outputs right after their producer */
  key: number;
}

interface Link {
  from: number;
  to: number;
  tensor: string;
}

export function layoutGraph(graph: DisplayGraph, opts: LayoutOptions = {}): GraphLayout {
  const { boxes, links } = collectBoxes(graph);
  const maxWhole = opts.maxWholeGraphNodes ?? 800;
  if (boxes.length <= maxWhole) {
    const all = boxes.map((_, i) => i);
    const part = dagrePart(boxes, all, links, false);
    return assemble(boxes, links, [all], [part], 'dagre');
  }
  const columnSize = Math.max(20, opts.columnSize ?? 200);
  const order = topologicalOrder(boxes, links);
  const runs = cutIntoRuns(order, links, columnSize);
  const parts = runs.map((run) => dagrePart(boxes, run, links, true));
  return assemble(boxes, links, runs, parts, 'dagre-columns');
}

function collectBoxes(graph: DisplayGraph): { boxes: Box[]; links: Link[] } {
  const boxes: Box[] = [];
  const index = new Map<string, number>();
  graph.nodes.forEach((n, i) => {
    if (index.has(n.id)) {
      throw new QtuneError('graph_invalid', `Graph has two nodes named "${n.id}".`, { layer: n.id });
    }
    // the box shows the op type and its key attributes; the name is on hover and in the side panel
    const text = Math.max(estimateTextWidth(n.opType, 7.6), estimateTextWidth(attrSummary(n.attrs), 6.6));
    const w = Math.min(NODE_MAX_WIDTH, Math.max(NODE_MIN_WIDTH, Math.ceil(text) + 20));
    index.set(n.id, boxes.length);
    boxes.push({ id: n.id, kind: 'op', w, h: OP_NODE_HEIGHT, key: i });
  });
  const endpoint = (id: string, kind: 'input' | 'output', key: number): number => {
    let i = index.get(id);
    if (i === undefined) {
      const w = Math.min(NODE_MAX_WIDTH, Math.max(60, Math.ceil(estimateTextWidth(endpointLabel(id))) + 20));
      i = boxes.length;
      index.set(id, i);
      boxes.push({ id, kind, w, h: ENDPOINT_NODE_HEIGHT, key });
    }
    return i;
  };
  const resolve = (id: string, side: 'from' | 'to', tensor: string): number => {
    const i = index.get(id);
    if (i !== undefined) return i;
    if (side === 'from' && id.startsWith('input:')) return endpoint(id, 'input', -1);
    // an output's key is fixed below, once its producer is known
    if (side === 'to' && id.startsWith('output:')) return endpoint(id, 'output', Number.POSITIVE_INFINITY);
    throw new QtuneError('graph_invalid', `Edge for tensor "${tensor}" refers to unknown node "${id}".`, { layer: id });
  };
  for (const name of graph.inputs) endpoint(`input:${name}`, 'input', -1);
  const links: Link[] = graph.edges.map((e) => ({
    from: resolve(e.from, 'from', e.tensor),
    to: resolve(e.to, 'to', e.tensor),
    tensor: e.tensor,
  }));
  for (const name of graph.outputs) endpoint(`output:${name}`, 'output', Number.POSITIVE_INFINITY);
  // Keep each output next to the node producing it, so cutting into columns
  // does not gather every output in the last one.
  for (const l of links) {
    const to = boxes[l.to];
    if (to.kind === 'output') to.key = Math.min(to.key, boxes[l.from].key + 0.5);
  }
  for (const b of boxes) if (b.key === Number.POSITIVE_INFINITY) b.key = graph.nodes.length;
  return { boxes, links };
}

/** Kahn's algorithm, taking the ready box with the smallest order key first (a min-heap), so
 * the order follows the model file wherever the edges allow. Boxes left on a cycle follow, by key. */
function topologicalOrder(boxes: Box[], links: Link[]): number[] {
  const n = boxes.length;
  const indeg = new Int32Array(n);
  const succ: number[][] = Array.from({ length: n }, () => []);
  for (const l of links) {
    if (l.from === l.to) continue;
    succ[l.from].push(l.to);
    indeg[l.to]++;
  }
  const heap: number[] = [];
  const less = (a: number, b: number) => boxes[a].key < boxes[b].key || (boxes[a].key === boxes[b].key && a < b);
  const push = (v: number) => {
    heap.push(v);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i], heap[p])) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  };
  const pop = (): number => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l], heap[m])) m = l;
        if (r < heap.length && less(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  };
  for (let v = 0; v < n; v++) if (indeg[v] === 0) push(v);
  const order: number[] = [];
  const placed = new Uint8Array(n);
  while (heap.length > 0) {
    const v = pop();
    order.push(v);
    placed[v] = 1;
    for (const w of succ[v]) if (--indeg[w] === 0) push(w);
  }
  if (order.length < n) {
    const rest = [];
    for (let v = 0; v < n; v++) if (!placed[v]) rest.push(v);
    rest.sort((a, b) => (less(a, b) ? -1 : 1));
    order.push(...rest);
  }
  return order;
}

/** Cut a topological order into runs of about `size` boxes, each cut where the fewest edges cross it. */
function cutIntoRuns(order: number[], links: Link[], size: number): number[][] {
  const n = order.length;
  const pos = new Int32Array(n);
  order.forEach((v, i) => (pos[v] = i));
  // live[i] = boxes at position <= i whose output is still needed after i, i.e.
  // the tensors that would have to hop between columns if we cut after i
  const lastUse = new Int32Array(n).fill(-1);
  for (const l of links) {
    const a = pos[l.from];
    const b = pos[l.to];
    if (b > a && b > lastUse[l.from]) lastUse[l.from] = b;
  }
  const diff = new Int32Array(n + 1);
  for (let v = 0; v < n; v++) {
    if (lastUse[v] < 0) continue;
    diff[pos[v]]++;
    diff[lastUse[v]]--;
  }
  const live = new Int32Array(n);
  let running = 0;
  for (let i = 0; i < n; i++) live[i] = running += diff[i];

  const runs: number[][] = [];
  let start = 0;
  while (start < n) {
    const target = start + size - 1;
    if (target >= n - 1 || n - start < size * 1.4) {
      runs.push(order.slice(start));
      break;
    }
    // search the window around the target size for the cheapest cut, preferring the target on ties
    const lo = start + Math.floor(size * 0.6);
    const hi = Math.min(n - 2, start + Math.ceil(size * 1.4));
    let best = target;
    for (let i = lo; i <= hi; i++) {
      if (live[i] < live[best] || (live[i] === live[best] && Math.abs(i - target) < Math.abs(best - target))) best = i;
    }
    runs.push(order.slice(start, best + 1));
    start = best + 1;
  }
  return runs;
}

interface Part {
  pos: Map<number, Point>;
  /** dagre's polyline per "from>to" box pair, in the part's own coordinates */
  points: Map<string, Point[]>;
  width: number;
  height: number;
}

function dagrePart(boxes: Box[], members: number[], links: Link[], quick: boolean): Part {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ ...DAGRE_GRAPH });
  g.setDefaultEdgeLabel(() => ({}));
  const inPart = new Set(members);
  for (const v of members) g.setNode(String(v), { width: boxes[v].w, height: boxes[v].h });
  for (const l of links) {
    if (l.from !== l.to && inPart.has(l.from) && inPart.has(l.to)) g.setEdge(String(l.from), String(l.to));
  }
  // In a column (a slice of a large model) dagre's crossing-reduction sweeps cost
  // more than half the time and change little; whole small graphs keep them.
  dagre.layout(g, { disableOptimalOrderHeuristic: quick });
  const pos = new Map<number, Point>();
  for (const v of members) {
    const label = g.node(String(v));
    pos.set(v, { x: label.x ?? 0, y: label.y ?? 0 });
  }
  const points = new Map<string, Point[]>();
  for (const e of g.edges()) {
    const label = g.edge(e);
    points.set(`${e.v}>${e.w}`, (label.points ?? []).map((p: Point) => ({ x: p.x, y: p.y })));
  }
  const gl = g.graph();
  return { pos, points, width: gl.width ?? 0, height: gl.height ?? 0 };
}

function assemble(
  boxes: Box[],
  links: Link[],
  runs: number[][],
  parts: Part[],
  method: GraphLayout['method'],
): GraphLayout {
  const columned = runs.length > 1;
  const top = columned ? LANE_MARGIN : 0;
  const columnOf = new Int32Array(boxes.length);
  const colX: number[] = [];
  let x = 0;
  parts.forEach((part, k) => {
    colX.push(x);
    x += part.width + COLUMN_GUTTER;
    for (const v of runs[k]) columnOf[v] = k;
  });
  const width = Math.max(1, x - (columned ? 0 : COLUMN_GUTTER));
  const tallest = Math.max(1, ...parts.map((p) => p.height));
  const height = tallest + 2 * top;

  const nodes: LayoutNode[] = new Array(boxes.length);
  for (let v = 0; v < boxes.length; v++) {
    const k = columnOf[v];
    const p = parts[k].pos.get(v)!;
    const b = boxes[v];
    nodes[v] = { id: b.id, kind: b.kind, x: p.x + colX[k], y: p.y + top, w: b.w, h: b.h, column: k };
  }

  // lane offsets so parallel hops out of one column do not draw on top of each other
  const lanesUsed = new Int32Array(parts.length);
  const edges: LayoutEdge[] = links.map((l) => {
    const from = boxes[l.from].id;
    const to = boxes[l.to].id;
    if (l.from === l.to) return { from, to, tensor: l.tensor, points: [], label: { x: nodes[l.from].x, y: nodes[l.from].y } };
    const ks = columnOf[l.from];
    const kt = columnOf[l.to];
    if (ks === kt) {
      const pts = (parts[ks].points.get(`${l.from}>${l.to}`) ?? []).map((p) => ({ x: p.x + colX[ks], y: p.y + top }));
      return { from, to, tensor: l.tensor, points: pts, label: midLabel(pts, nodes[l.from]) };
    }
    const s = nodes[l.from];
    const t = nodes[l.to];
    const lane = (lanesUsed[ks]++ % 6) * 6;
    const below = top + parts[ks].height + 14 + lane;
    const above = top - 14 - lane;
    const gutterX = colX[ks] + parts[ks].width + COLUMN_GUTTER / 2 - 15 + lane;
    return {
      from,
      to,
      tensor: l.tensor,
      // a hop between columns is long: its label sits just below the producer
      label: { x: s.x + 4, y: s.y + s.h / 2 + 12 },
      points: [
        { x: s.x, y: s.y + s.h / 2 },
        { x: s.x, y: below },
        { x: gutterX, y: below },
        { x: gutterX, y: above },
        { x: t.x, y: above },
        { x: t.x, y: t.y - t.h / 2 },
      ],
    };
  });
  return { nodes, edges, width, height, columns: parts.length, method };
}

/** The label anchor of an edge within a column: beside the middle of its polyline, by length. */
function midLabel(pts: Point[], from: LayoutNode): Point {
  if (pts.length < 2) return { x: from.x + 4, y: from.y + from.h / 2 + 12 };
  let total = 0;
  for (let i = 1; i < pts.length; i++) total += Math.hypot(pts[i].x - pts[i - 1].x, pts[i].y - pts[i - 1].y);
  let left = total / 2;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1];
    const b = pts[i];
    const d = Math.hypot(b.x - a.x, b.y - a.y);
    if (d >= left && d > 0) {
      const t = left / d;
      return { x: a.x + (b.x - a.x) * t + 4, y: a.y + (b.y - a.y) * t + 4 };
    }
    left -= d;
  }
  const last = pts[pts.length - 1];
  return { x: last.x + 4, y: last.y };
}
