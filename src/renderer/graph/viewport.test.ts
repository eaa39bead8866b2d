import { describe, expect, it } from 'vitest';
import type { DisplayGraph } from '../../shared/graph';
import { layoutGraph } from './layout';
import { residualChainGraph } from './synthetic-graph';
import { fitTransform, fitWidthTransform, openingTransform, READABLE_SCALE, viewRect } from './viewport';
import { minimapGeometry, minimapToLayout } from './minimap';

/** A plain chain of `n` convolutions, as a 61-node classifier is. */
function chain(n: number): DisplayGraph {
  const nodes = Array.from({ length: n }, (_, i) => ({ id: `/m/conv${i}/Conv`, opType: 'Conv', inputs: [`t${i}`], outputs: [`t${i + 1}`], params: 9, quantizable: true, attrs: { kernel_shape: '3x3' } }));
  const edges = [
    { from: 'input:t0', to: nodes[0].id, tensor: 't0', shape: [1, 3, 32, 32] },
    ...nodes.slice(1).map((node, i) => ({ from: nodes[i].id, to: node.id, tensor: `t${i + 1}`, shape: [1, 8, 32, 32] })),
    { from: nodes[n - 1].id, to: `output:t${n}`, tensor: `t${n}` },
  ];
  return { inputs: ['t0'], outputs: [`t${n}`], nodes, edges };
}

let wide: ReturnType<typeof layoutGraph> | null = null;
/** A residual chain cut into several columns (small, so the test stays quick). */
function columned(): ReturnType<typeof layoutGraph> {
  wide ??= layoutGraph(residualChainGraph(600), { maxWholeGraphNodes: 100, columnSize: 100 });
  return wide;
}

describe('openingTransform', () => {
  it('opens a long chain at a readable zoom with its input at the top of the view, not fitted into a hairline', () => {
    const l = layoutGraph(chain(61));
    expect(fitTransform(l, 1200, 800).k).toBeLessThan(0.3);
    const t = openingTransform(l, 1200, 800);
    expect(t.k).toBe(READABLE_SCALE);
    const input = l.nodes.find((n) => n.kind === 'input')!;
    const r = viewRect(t, 1200, 800);
    // the input is in view, near the top, and horizontally in the middle
    expect(input.y - input.h / 2).toBeGreaterThanOrEqual(r.y0);
    expect(input.y - input.h / 2 - r.y0).toBeLessThan(40);
    expect(Math.abs(input.x * t.k + t.x - 600)).toBeLessThan(2);
  });

  it('fits a graph that is readable whole', () => {
    const l = layoutGraph(chain(3));
    expect(openingTransform(l, 1200, 800)).toEqual(fitTransform(l, 1200, 800));
  });

  it('on a wide columned graph, starts at the left edge with the first input in view', () => {
    const l = columned();
    expect(l.columns).toBeGreaterThan(3);
    const t = openingTransform(l, 1200, 800);
    expect(t.k).toBe(1);
    expect(t.x).toBeLessThanOrEqual(24);
    const input = l.nodes.find((n) => n.kind === 'input')!;
    const r = viewRect(t, 1200, 800);
    expect(input.x).toBeGreaterThan(r.x0);
    expect(input.x).toBeLessThan(r.x1);
  });
});

describe('fitWidthTransform', () => {
  it('shows the whole width, keeps the layout row at the view middle, and caps the zoom', () => {
    const l = columned();
    const cur = { x: -500, y: -2000, k: 1 };
    const t = fitWidthTransform(l, 1200, 800, cur);
    expect(l.width * t.k).toBeCloseTo(1160, 0);
    expect((400 - t.y) / t.k).toBeCloseTo((400 - cur.y) / cur.k, 6);
    const narrow = layoutGraph(chain(61));
    expect(fitWidthTransform(narrow, 1200, 800, cur).k).toBe(1.5);
  });
});

describe('edge labels and the minimap', () => {
  it('puts each edge label beside its edge, between producer and consumer', () => {
    const l = layoutGraph(chain(5));
    for (const e of l.edges) {
      const from = l.nodes.find((n) => n.id === e.from)!;
      const to = l.nodes.find((n) => n.id === e.to)!;
      expect(e.label.y).toBeGreaterThan(from.y);
      expect(e.label.y).toBeLessThan(to.y);
      expect(Math.abs(e.label.x - from.x)).toBeLessThan(10);
    }
  });

  it('scales the whole layout into the minimap box and maps its points back', () => {
    const l = columned();
    const g = minimapGeometry(l, 180, 160);
    expect(g.width).toBeLessThanOrEqual(180);
    expect(g.height).toBeLessThanOrEqual(160);
    expect(Math.max(g.width / 180, g.height / 160)).toBeCloseTo(1, 1);
    const p = minimapToLayout(g, g.width, g.height);
    expect(Math.abs(p.x - l.width) / l.width).toBeLessThan(0.03);
    expect(Math.abs(p.y - l.height) / l.height).toBeLessThan(0.03);
  });
});
