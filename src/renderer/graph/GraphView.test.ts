import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import type { DisplayGraph } from '../../shared/graph';
import GraphView from './GraphView.svelte';

const graph: DisplayGraph = {
  inputs: ['x'],
  outputs: ['y'],
  nodes: [
    { id: '/stem/conv1/Conv', opType: 'Conv', inputs: ['x'], outputs: ['a'], params: 10, quantizable: true },
    { id: '/stem/relu/Relu', opType: 'Relu', inputs: ['a'], outputs: ['b'], params: 0, quantizable: false },
    { id: '/head/fc/Gemm', opType: 'Gemm', inputs: ['b'], outputs: ['y'], params: 10, quantizable: true },
  ],
  edges: [
    { from: 'input:x', to: '/stem/conv1/Conv', tensor: 'x' },
    { from: '/stem/conv1/Conv', to: '/stem/relu/Relu', tensor: 'a' },
    { from: '/stem/relu/Relu', to: '/head/fc/Gemm', tensor: 'b' },
    { from: '/head/fc/Gemm', to: 'output:y', tensor: 'y' },
  ],
};

let app: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = '';
});

async function until<T>(probe: () => T | null | undefined, what: string, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    flushSync();
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function node(root: HTMLElement, id: string): Element | null {
  return root.querySelector(`[data-testid="graph-node"][data-node-id="${id}"]`);
}

describe('GraphView', () => {
  it('lays out, then draws nodes with states, metric colours and a legend; clicks select', async () => {
    const target = document.createElement('div');
    document.body.appendChild(target);
    const selected: string[] = [];
    app = mount(GraphView, {
      target,
      props: {
        graph,
        metrics: { '/stem/conv1/Conv': 0.999, '/head/fc/Gemm': 0.95 },
        metricName: 'CosineSimilarity',
        threshold: 0.99,
        quantState: { '/stem/conv1/Conv': 'quantized', '/head/fc/Gemm': 'skipped', '/stem/relu/Relu': 'not-quantizable' },
        onselect: (id: string) => selected.push(id),
      },
    });
    flushSync();
    expect(target.querySelector('[data-testid="graph-loading"]')?.textContent).toContain('laying out 3 nodes');

    const conv = await until(() => node(target, '/stem/conv1/Conv'), 'node elements');
    expect(target.querySelector('[data-testid="graph-loading"]')).toBeNull();
    expect(target.querySelectorAll('[data-testid="graph-node"]')).toHaveLength(5); // 3 ops + input + output
    expect(conv.getAttribute('data-quant-state')).toBe('quantized');
    expect(conv.querySelector('[data-testid="graph-node-badge"]')?.textContent).toBe('int8');
    expect(node(target, '/head/fc/Gemm')!.querySelector('[data-testid="graph-node-badge"]')?.textContent).toBe('fp32');
    // below the cosine threshold: flagged; above: not
    expect(node(target, '/head/fc/Gemm')!.querySelector('[data-testid="graph-node-fails"]')).not.toBeNull();
    expect(conv.querySelector('[data-testid="graph-node-fails"]')).toBeNull();
    expect(target.querySelector('[data-testid="graph-legend"]')?.textContent).toContain('higher is better');
    expect(target.querySelector('[data-testid="graph-legend-threshold"]')).not.toBeNull();
    expect(conv.textContent).toContain('Conv');
    expect(conv.textContent).toContain('conv1/Conv');

    (node(target, '/head/fc/Gemm') as SVGGElement).dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(selected).toEqual(['/head/fc/Gemm']);

    // Render statistics sit on the view's element; nothing is put on the page's global object.
    expect((globalThis as Record<string, unknown>).__qtuneGraphStats).toBeUndefined();
    const view = target.querySelector<HTMLElement>('[data-testid="graph-view"]')!;
    expect(view.dataset.renderedNodes).toBe('5');
    expect(view.dataset.totalNodes).toBe('5');
    expect(Number.isFinite(Number(view.dataset.renderMs))).toBe(true);
  });

  it('finds nodes by name or op type and steps through the matches', async () => {
    const target = document.createElement('div');
    document.body.appendChild(target);
    app = mount(GraphView, { target, props: { graph, selected: '/stem/relu/Relu' } });
    await until(() => node(target, '/stem/relu/Relu'), 'node elements');
    expect(node(target, '/stem/relu/Relu')!.classList.contains('selected')).toBe(true);

    const search = target.querySelector<HTMLInputElement>('[data-testid="graph-search"]')!;
    search.value = 'stem';
    search.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    const count = target.querySelector('[data-testid="graph-search-count"]')!;
    expect(count.textContent?.trim()).toBe('1 / 2');
    await until(() => node(target, '/stem/conv1/Conv')?.classList.contains('current-match'), 'first match highlighted');

    target.querySelector<HTMLButtonElement>('[data-testid="graph-search-next"]')!.click();
    flushSync();
    expect(count.textContent?.trim()).toBe('2 / 2');
    await until(() => node(target, '/stem/relu/Relu')?.classList.contains('current-match'), 'second match highlighted');

    search.value = 'gemm';
    search.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    expect(count.textContent?.trim()).toBe('1 / 1');
    search.value = 'nothing-like-this';
    search.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    expect(count.textContent?.trim()).toBe('no match');
  });

  it('labels boxes with op type and key attributes, edges with shapes, says where the colours come from, and answers the keyboard', async () => {
    const target = document.createElement('div');
    document.body.appendChild(target);
    const withAttrs: DisplayGraph = {
      ...graph,
      nodes: graph.nodes.map((n) => (n.opType === 'Conv' ? { ...n, attrs: { kernel_shape: '3x3', strides: '2,2', group: '1' } } : n)),
      edges: graph.edges.map((e) => (e.tensor === 'x' ? { ...e, shape: [1, 3, 32, 32] } : e)),
    };
    const views: { k: number }[] = [];
    app = mount(GraphView, {
      target,
      props: {
        graph: withAttrs,
        metrics: { '/stem/conv1/Conv': 0.999 },
        metricName: 'CosineSimilarity',
        metricSource: 'run 3 (config 2)',
        ontransform: (t: { k: number }) => views.push(t),
      },
    });
    const conv = await until(() => node(target, '/stem/conv1/Conv'), 'node elements');
    expect(conv.querySelector('[data-testid="graph-node-attrs"]')?.textContent).toBe('3×3 s2');
    // the name is on hover (the box's title), not in the box
    expect(conv.querySelector('title')?.textContent).toContain('/stem/conv1/Conv');
    await until(() => target.querySelector('[data-testid="graph-edge-label"][data-tensor="x"]'), 'edge label');
    expect(target.querySelector('[data-testid="graph-edge-label"][data-tensor="x"]')?.textContent).toBe('1×3×32×32');
    expect(target.querySelector('[data-testid="graph-colour-source"]')?.textContent).toContain('run 3 (config 2)');
    expect(target.querySelector('[data-testid="graph-minimap"]')).not.toBeNull();

    const view = target.querySelector<HTMLElement>('[data-testid="graph-view"]')!;
    const stage = target.querySelector<HTMLElement>('[data-testid="graph-stage"]')!;
    await until(() => view.dataset.scale, 'first render');
    const k0 = Number(view.dataset.scale);
    stage.dispatchEvent(new KeyboardEvent('keydown', { key: '+', bubbles: true }));
    await until(() => Number(view.dataset.scale) > k0, 'zoomed in by the keyboard');
    expect(views.at(-1)!.k).toBeGreaterThan(k0);
    const scene = target.querySelector('[data-testid="graph-scene"]')!;
    const before = scene.getAttribute('transform');
    stage.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
    expect(scene.getAttribute('transform')).not.toBe(before);
  });

  it('selects the current search hit with Enter on the focused graph', async () => {
    const target = document.createElement('div');
    document.body.appendChild(target);
    const selected: string[] = [];
    app = mount(GraphView, { target, props: { graph, onselect: (id: string) => selected.push(id) } });
    await until(() => node(target, '/head/fc/Gemm'), 'node elements');
    const search = target.querySelector<HTMLInputElement>('[data-testid="graph-search"]')!;
    search.value = 'gemm';
    search.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    const stage = target.querySelector<HTMLElement>('[data-testid="graph-stage"]')!;
    stage.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    expect(selected).toEqual(['/head/fc/Gemm']);
  });
});
