import { describe, expect, it } from 'vitest';
import { QtuneError } from '../../shared/errors';
import type { DisplayGraph } from '../../shared/graph';
import { layoutGraph, type LayoutNode } from './layout';
import { residualChainGraph } from './synthetic-graph';

function overlaps(a: LayoutNode, b: LayoutNode): boolean {
  return Math.abs(a.x - b.x) * 2 < a.w + b.w && Math.abs(a.y - b.y) * 2 < a.h + b.h;
}

function expectNoOverlaps(nodes: LayoutNode[]): void {
  // sweep by top edge: only boxes whose vertical spans meet can overlap
  const sorted = [...nodes].sort((a, b) => a.y - a.h / 2 - (b.y - b.h / 2));
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && sorted[j].y - sorted[j].h / 2 < sorted[i].y + sorted[i].h / 2; j++) {
      if (overlaps(sorted[i], sorted[j])) throw new Error(`${sorted[i].id} overlaps ${sorted[j].id}`);
    }
  }
}

function expectInsideBounds(layout: ReturnType<typeof layoutGraph>): void {
  for (const n of layout.nodes) {
    expect(Number.isFinite(n.x) && Number.isFinite(n.y)).toBe(true);
    expect(n.x - n.w / 2).toBeGreaterThanOrEqual(-0.5);
    expect(n.y - n.h / 2).toBeGreaterThanOrEqual(-0.5);
    expect(n.x + n.w / 2).toBeLessThanOrEqual(layout.width + 0.5);
    expect(n.y + n.h / 2).toBeLessThanOrEqual(layout.height + 0.5);
  }
}

const diamond: DisplayGraph = {
  inputs: ['x'],
  outputs: ['y'],
  nodes: [
    { id: 'conv1', opType: 'Conv', inputs: ['x', 'w1'], outputs: ['a'], params: 10, quantizable: true },
    { id: 'relu', opType: 'Relu', inputs: ['a'], outputs: ['b'], params: 0, quantizable: false },
    { id: 'conv2', opType: 'Conv', inputs: ['b', 'w2'], outputs: ['c'], params: 10, quantizable: true },
    { id: 'add', opType: 'Add', inputs: ['a', 'c'], outputs: ['y'], params: 0, quantizable: true },
  ],
  edges: [
    { from: 'input:x', to: 'conv1', tensor: 'x' },
    { from: 'conv1', to: 'relu', tensor: 'a' },
    { from: 'relu', to: 'conv2', tensor: 'b' },
    { from: 'conv2', to: 'add', tensor: 'c' },
    { from: 'conv1', to: 'add', tensor: 'a' },
    { from: 'add', to: 'output:y', tensor: 'y' },
  ],
};

describe('layoutGraph', () => {
  it('places every node and the graph endpoints, top to bottom', () => {
    const layout = layoutGraph(diamond);
    expect(layout.method).toBe('dagre');
    expect(layout.nodes.map((n) => n.id).sort()).toEqual(['add', 'conv1', 'conv2', 'input:x', 'output:y', 'relu']);
    const at = new Map(layout.nodes.map((n) => [n.id, n]));
    expect(at.get('input:x')!.kind).toBe('input');
    expect(at.get('output:y')!.kind).toBe('output');
    // every edge points downwards: the consumer sits below the producer
    for (const e of diamond.edges) expect(at.get(e.to)!.y).toBeGreaterThan(at.get(e.from)!.y);
    expectInsideBounds(layout);
    expectNoOverlaps(layout.nodes);
  });

  it('gives every edge a polyline that starts at its producer and ends at its consumer', () => {
    const layout = layoutGraph(diamond);
    expect(layout.edges).toHaveLength(diamond.edges.length);
    const at = new Map(layout.nodes.map((n) => [n.id, n]));
    for (const e of layout.edges) {
      expect(e.points.length).toBeGreaterThanOrEqual(2);
      const first = e.points[0];
      const last = e.points[e.points.length - 1];
      const from = at.get(e.from)!;
      const to = at.get(e.to)!;
      expect(Math.abs(first.y - (from.y + from.h / 2))).toBeLessThan(1);
      expect(Math.abs(last.y - (to.y - to.h / 2))).toBeLessThan(1);
    }
  });

  it('stacks a plain chain without overlaps', () => {
    const layout = layoutGraph(residualChainGraph(60));
    expect(layout.nodes).toHaveLength(62);
    expectNoOverlaps(layout.nodes);
    expectInsideBounds(layout);
  });

  it('names the unknown node when an edge refers to one', () => {
    const bad: DisplayGraph = { ...diamond, edges: [...diamond.edges, { from: 'relu', to: 'ghost', tensor: 'b' }] };
    expect(() => layoutGraph(bad)).toThrow(QtuneError);
    expect(() => layoutGraph(bad)).toThrow(/ghost/);
  });

  it('cuts a large graph into columns at cheap points and still places everything', () => {
    const graph = residualChainGraph(600);
    const layout = layoutGraph(graph, { maxWholeGraphNodes: 150, columnSize: 80 });
    expect(layout.method).toBe('dagre-columns');
    expect(layout.columns).toBeGreaterThanOrEqual(6);
    expect(layout.nodes).toHaveLength(602);
    expectNoOverlaps(layout.nodes);
    expectInsideBounds(layout);
    const at = new Map(layout.nodes.map((n) => [n.id, n]));
    const op = new Map(graph.nodes.map((n) => [n.id, n.opType]));
    const hopsFrom = new Set<string>();
    for (const e of layout.edges) {
      expect(e.points.length).toBeGreaterThanOrEqual(2);
      const a = at.get(e.from)!;
      const b = at.get(e.to)!;
      expect(b.column).toBeGreaterThanOrEqual(a.column);
      if (a.column !== b.column) hopsFrom.add(e.from);
    }
    // cuts fall right after an Add, where a single tensor is live: one producer per cut
    expect(hopsFrom.size).toBe(layout.columns - 1);
    for (const id of hopsFrom) expect(op.get(id)).toBe('Add');
  });

  it('lays out a 10,000-node residual chain', () => {
    const graph = residualChainGraph(10_000);
    const t0 = performance.now();
    const layout = layoutGraph(graph);
    const ms = performance.now() - t0;
    expect(layout.nodes).toHaveLength(10_002);
    expect(layout.edges).toHaveLength(graph.edges.length);
    expect(layout.columns).toBeGreaterThan(1);
    expectInsideBounds(layout);
    expectNoOverlaps(layout.nodes);
    console.log(`10,000-node layout: ${ms.toFixed(0)} ms in ${layout.columns} columns`);
  }, 60_000);
});
