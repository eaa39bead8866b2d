// The minimap: the whole layout, scaled into a small box in a corner of the
// graph view, with the part in view outlined. The nodes are drawn once per
// layout and colouring into a cached canvas; each frame only copies it and
// draws the outline, so it costs the same on a 10,000-node graph as on LeNet.
import type { GraphLayout, LayoutNode } from './layout';
import type { ViewTransform } from './viewport';
import { viewRect } from './viewport';

export interface MinimapGeometry {
  /** CSS pixels of the minimap box */
  width: number;
  height: number;
  /** minimap pixels per layout pixel */
  scale: number;
}

/** The minimap box for a layout: at most `maxW × maxH`, the layout's aspect kept, never thinner than `minSide`. */
export function minimapGeometry(layout: GraphLayout, maxW = 180, maxH = 160, minSide = 24): MinimapGeometry {
  const scale = Math.min(maxW / layout.width, maxH / layout.height);
  return {
    width: Math.max(minSide, Math.round(layout.width * scale)),
    height: Math.max(minSide, Math.round(layout.height * scale)),
    scale,
  };
}

/** The layout point under a minimap point. */
export function minimapToLayout(g: MinimapGeometry, mx: number, my: number): { x: number; y: number } {
  return { x: mx / g.scale, y: my / g.scale };
}

/** Draws every node as a small box in its fill colour into `ctx` (sized for `g` at `dpr`). */
export function drawMinimapNodes(
  ctx: CanvasRenderingContext2D,
  layout: GraphLayout,
  g: MinimapGeometry,
  dpr: number,
  fill: (n: LayoutNode) => string,
  background: string,
): void {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.setTransform(dpr * g.scale, 0, 0, dpr * g.scale, 0, 0);
  // at least one device pixel per node, or small nodes vanish on a big graph
  const min = 1 / (dpr * g.scale);
  for (const n of layout.nodes) {
    const w = Math.max(n.w, min);
    const h = Math.max(n.h, min);
    ctx.fillStyle = fill(n);
    ctx.fillRect(n.x - w / 2, n.y - h / 2, w, h);
  }
}

/** Copies the cached nodes and outlines the part of the layout the main view shows. */
export function drawMinimapView(
  ctx: CanvasRenderingContext2D,
  cached: HTMLCanvasElement,
  g: MinimapGeometry,
  dpr: number,
  t: ViewTransform,
  viewW: number,
  viewH: number,
  outline: string,
): void {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.drawImage(cached, 0, 0);
  const r = viewRect(t, viewW, viewH);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.strokeStyle = outline;
  ctx.lineWidth = 1.5;
  const x = Math.max(0, r.x0 * g.scale);
  const y = Math.max(0, r.y0 * g.scale);
  const w = Math.min(g.width, r.x1 * g.scale) - x;
  const h = Math.min(g.height, r.y1 * g.scale) - y;
  ctx.strokeRect(x + 0.75, y + 0.75, Math.max(2, w - 1.5), Math.max(2, h - 1.5));
}
