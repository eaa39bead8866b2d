// Viewport arithmetic for the graph view: what is in view, how to fit, where a
// click landed. Pure functions over a GraphLayout so they can be tested alone.
import type { GraphLayout, LayoutNode } from './layout';

export interface ViewTransform {
  x: number;
  y: number;
  k: number;
}

/** A rectangle in layout coordinates. */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The layout-space rectangle a `width × height` screen shows under `t`, grown by `overscan` of its size on every side. */
export function viewRect(t: ViewTransform, width: number, height: number, overscan = 0): Rect {
  const w = width / t.k;
  const h = height / t.k;
  const x0 = -t.x / t.k;
  const y0 = -t.y / t.k;
  return { x0: x0 - w * overscan, y0: y0 - h * overscan, x1: x0 + w * (1 + overscan), y1: y0 + h * (1 + overscan) };
}

export function contains(outer: Rect, inner: Rect): boolean {
  return inner.x0 >= outer.x0 && inner.y0 >= outer.y0 && inner.x1 <= outer.x1 && inner.y1 <= outer.y1;
}

export function nodesIn(layout: GraphLayout, r: Rect): LayoutNode[] {
  const out: LayoutNode[] = [];
  for (const n of layout.nodes) {
    if (n.x + n.w / 2 >= r.x0 && n.x - n.w / 2 <= r.x1 && n.y + n.h / 2 >= r.y0 && n.y - n.h / 2 <= r.y1) out.push(n);
  }
  return out;
}

/** Bounding boxes of every edge polyline, [x0, y0, x1, y1] per edge, for quick culling. */
export function edgeBounds(layout: GraphLayout): Float64Array {
  const b = new Float64Array(layout.edges.length * 4);
  layout.edges.forEach((e, i) => {
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (const p of e.points) {
      if (p.x < x0) x0 = p.x;
      if (p.y < y0) y0 = p.y;
      if (p.x > x1) x1 = p.x;
      if (p.y > y1) y1 = p.y;
    }
    b.set([x0, y0, x1, y1], i * 4);
  });
  return b;
}

/** Transform that shows the whole layout centred in the screen, with a small margin, never zoomed past 1. */
export function fitTransform(layout: GraphLayout, width: number, height: number, margin = 20): ViewTransform {
  const k = Math.min(1, (width - 2 * margin) / layout.width, (height - 2 * margin) / layout.height);
  const kk = Math.max(k, 1e-4);
  return { k: kk, x: (width - layout.width * kk) / 2, y: (height - layout.height * kk) / 2 };
}

/** Transform that centres node `n` on screen at scale `k`. */
export function centreOn(n: LayoutNode, width: number, height: number, k: number): ViewTransform {
  return { k, x: width / 2 - n.x * k, y: height / 2 - n.y * k };
}

/** The node under a layout-space point, or null. */
export function nodeAt(layout: GraphLayout, x: number, y: number): LayoutNode | null {
  for (const n of layout.nodes) {
    if (Math.abs(n.x - x) * 2 <= n.w && Math.abs(n.y - y) * 2 <= n.h) return n;
  }
  return null;
}

/** Nodes whose name or op type contains the query (case-insensitive), in layout order. */
export function searchNodes(layout: GraphLayout, opTypes: Map<string, string>, query: string): string[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  return layout.nodes
    .filter((n) => n.id.toLowerCase().includes(q) || (opTypes.get(n.id) ?? '').toLowerCase().includes(q))
    .map((n) => n.id);
}

/** Zoom at which a box's smallest label (10 px in layout units) reads at 10 px on screen. */
export const READABLE_SCALE = 1;

/**
 * The view a graph opens on, as Netron opens one: the whole graph when it fits at
 * a readable zoom; otherwise a readable zoom (`k`) with the model's inputs at
 * the top, centred on them, never showing empty space left of the graph.
 */
export function openingTransform(layout: GraphLayout, width: number, height: number, k = READABLE_SCALE, margin = 24): ViewTransform {
  const fit = fitTransform(layout, width, height);
  if (fit.k >= k) return fit;
  const inputs = layout.nodes.filter((n) => n.kind === 'input');
  const anchors = inputs.length > 0 ? inputs : layout.nodes.slice(0, 1);
  if (anchors.length === 0) return fit;
  const top = Math.min(...anchors.map((n) => n.y - n.h / 2));
  // several inputs side by side: their middle, when they fit in the view together; else the first
  const x0 = Math.min(...anchors.map((n) => n.x - n.w / 2));
  const x1 = Math.max(...anchors.map((n) => n.x + n.w / 2));
  const ax = (x1 - x0) * k <= width - 2 * margin ? (x0 + x1) / 2 : anchors[0].x;
  let x = width / 2 - ax * k;
  if (layout.width * k <= width - 2 * margin) x = (width - layout.width * k) / 2;
  else x = Math.min(margin, Math.max(width - margin - layout.width * k, x));
  return { k, x, y: margin - top * k };
}

/**
 * The graph's full width in view (zoomed no further in than `maxK`), keeping the
 * layout point at the middle of the current view's height where it is.
 */
export function fitWidthTransform(layout: GraphLayout, width: number, height: number, current: ViewTransform, maxK = 1.5, margin = 20): ViewTransform {
  const k = Math.max(1e-4, Math.min(maxK, (width - 2 * margin) / layout.width));
  const cy = (height / 2 - current.y) / current.k;
  return { k, x: (width - layout.width * k) / 2, y: height / 2 - cy * k };
}
