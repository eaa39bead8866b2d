import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import { hsl } from 'd3';
import { makeMetricScale } from '../lib/colour-scale';
import { columnThresholds } from './thresholds';
import type { AnalysisReport } from '../../shared/analysis-types';
import Heatmap from './Heatmap.svelte';
import type { HeatmapColumn } from './types';

const columns: HeatmapColumn[] = [
  { key: 'CosineSimilarity', metric: 'CosineSimilarity' },
  { key: 'MaxAbsoluteError', metric: 'MaxAbsoluteError' },
  { key: 'SQNR', metric: 'SQNR' },
];
const rows = ['conv1', 'conv2', 'fc'];
// conv2 is the worst layer on every metric, fc the best
const values = [
  [0.995, 0.2, 30],
  [0.95, 1.5, 12],
  [0.9999, 0.01, 45],
];

let app: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = '';
});

function render(props: Record<string, unknown>): HTMLElement {
  const target = document.createElement('div');
  document.body.appendChild(target);
  app = mount(Heatmap, { target, props: props as any });
  flushSync();
  return target;
}

function cell(root: HTMLElement, row: string, col: string): HTMLElement {
  const el = root.querySelector<HTMLElement>(`[data-testid="heatmap-cell"][data-row="${row}"][data-col="${col}"]`);
  if (!el) throw new Error(`no cell ${row}/${col}`);
  return el;
}

/** happy-dom normalises inline colours to rgb(); compare through a throwaway element */
function css(colour: string): string {
  const el = document.createElement('div');
  el.style.background = colour;
  return el.style.background;
}

describe('Heatmap', () => {
  it('draws one cell per layer and metric with the metric scale colours', () => {
    const root = render({ rows, columns, values });
    expect(root.querySelectorAll('[data-testid="heatmap-row"]')).toHaveLength(3);
    expect(root.querySelectorAll('[data-testid="heatmap-cell"]')).toHaveLength(9);
    expect(root.querySelectorAll('[data-testid="heatmap-col"]')).toHaveLength(3);

    columns.forEach((c, j) => {
      const scale = makeMetricScale(c.metric, values.map((r) => r[j]));
      // the worst layer gets the scale's worst colour, the best its best, whichever direction the metric runs
      const worst = c.metric === 'MaxAbsoluteError' ? scale.domain[1] : scale.domain[0];
      const best = c.metric === 'MaxAbsoluteError' ? scale.domain[0] : scale.domain[1];
      expect(cell(root, 'conv2', c.key).style.background).toBe(css(scale.colour(worst)));
      expect(cell(root, 'fc', c.key).style.background).toBe(css(scale.colour(best)));
    });
    expect(cell(root, 'conv2', 'CosineSimilarity').textContent?.trim()).toBe('0.95');
  });

  it('outlines cells on the wrong side of their threshold', () => {
    const root = render({ rows, columns, values, thresholds: { CosineSimilarity: 0.99 } });
    const failing = [...root.querySelectorAll<HTMLElement>('td.fails')].map((td) => `${td.dataset.row}/${td.dataset.col}`);
    expect(failing).toEqual(['conv2/CosineSimilarity']);
  });

  it('reports a row click with the layer name and marks the selection', () => {
    const clicked: string[] = [];
    const root = render({ rows, columns, values, selected: 'fc', onselect: (r: string) => clicked.push(r) });
    cell(root, 'conv2', 'SQNR').click();
    expect(clicked).toEqual(['conv2']);
    expect(root.querySelector('[data-testid="heatmap-row"].selected')?.getAttribute('data-row')).toBe('fc');
  });

  it('shows the value in a tooltip on hover and NaN in grey', () => {
    const withNaN = [values[0], [NaN, 1.5, 12], values[2]];
    const root = render({ rows, columns, values: withNaN });
    const td = cell(root, 'conv2', 'CosineSimilarity');
    expect(td.style.background).toBe(css('#9e9e9e'));
    td.dispatchEvent(new MouseEvent('mouseenter'));
    flushSync();
    expect(root.querySelector('[data-testid="heatmap-tooltip"]')?.textContent).toContain('conv2 · CosineSimilarity: NaN');
    const td2 = cell(root, 'fc', 'MaxAbsoluteError');
    td2.dispatchEvent(new MouseEvent('mouseenter'));
    flushSync();
    expect(root.querySelector('[data-testid="heatmap-tooltip"]')?.textContent).toContain('fc · MaxAbsoluteError: 0.01');
  });

  it('serves as layers × runs with one shared scale', () => {
    const runs: HeatmapColumn[] = [
      { key: 'run1', label: 'run 1', metric: 'CosineSimilarity' },
      { key: 'run2', label: 'run 2', metric: 'CosineSimilarity' },
    ];
    const v = [
      [0.9, 0.99],
      [0.5, 0.98],
    ];
    const root = render({ rows: ['a', 'b'], columns: runs, values: v, scaleMode: 'shared' });
    const scale = makeMetricScale('CosineSimilarity', v.flat());
    expect(cell(root, 'b', 'run1').style.background).toBe(css(scale.colour(0.5)));
    expect(cell(root, 'a', 'run2').style.background).toBe(css(scale.colour(0.99)));
  });

  it('renders only the rows in view for 500 layers', () => {
    const many = Array.from({ length: 500 }, (_, i) => `layer${i}`);
    const root = render({ rows: many, columns, values: many.map((_, i) => [1 - i / 1000, i / 100, 40 - i / 20]) });
    const rendered = root.querySelectorAll('[data-testid="heatmap-row"]').length;
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(100);
    const scroller = root.querySelector<HTMLElement>('[data-testid="heatmap-scroller"]')!;
    scroller.scrollTop = 400 * 22;
    scroller.dispatchEvent(new Event('scroll'));
    flushSync();
    expect(root.querySelector('[data-row="layer400"]')).not.toBeNull();
    expect(root.querySelector('[data-row="layer0"]')).toBeNull();
  });

  it('keeps a healthy model pale in every column: colours are scaled around each column threshold, not stretched min to max', () => {
    // a healthy model: cosine 0.9995–0.9999, weight SQNR 44–46 dB, tiny output gains
    const report = { thresholds: { accumulatedCosine: 0.99, isolatedSensitivity: 0.995, fewParameters: 1000, weightCosine: 0.999 } } as unknown as AnalysisReport;
    const cols: HeatmapColumn[] = [
      { key: 'accumulatedCosine', metric: 'CosineSimilarity' },
      { key: 'accumulatedSqnrDb', metric: 'SQNR' },
      { key: 'weightSqnrDb', metric: 'SQNR' },
      { key: 'gainIfSkipped', metric: 'loss' },
      { key: 'floatMs', metric: 'TimeMs' },
    ];
    const v = [
      [0.9995, 33, 44, 0.00004, 2.5],
      [0.9999, 39, 46, 0.00001, 0.1],
      [0.9997, 36, 45, 0.00002, 0.4],
    ];
    const root = render({ rows: ['a', 'b', 'c'], columns: cols, values: v, columnThresholds: columnThresholds(report) });
    for (const r of ['a', 'b', 'c']) {
      for (const c of cols) {
        const bg = cell(root, r, c.key).style.background;
        const [red, green, blue] = bg.match(/\d+/g)!.map(Number);
        // times are shaded blue by size: not a verdict, never red
        if (c.metric === 'TimeMs') expect(blue, `${r}/${c.key} ${bg}`).toBeGreaterThan(red);
        else expect(hsl(`rgb(${red}, ${green}, ${blue})`).l, `${r}/${c.key} ${bg}`).toBeGreaterThan(0.6);
        // never the red of "look here" (times are blue)
        expect(cell(root, r, c.key).classList.contains('fails')).toBe(false);
      }
    }
    // a layer past its threshold still turns dark
    const bad = render({ rows: ['x', 'y'], columns: cols.slice(0, 1), values: [[0.9999], [0.95]], columnThresholds: columnThresholds(report) });
    const [r2, g2, b2] = cell(bad, 'y', 'accumulatedCosine').style.background.match(/\d+/g)!.map(Number);
    expect(hsl(`rgb(${r2}, ${g2}, ${b2})`).l).toBeLessThan(0.5);
  });

  it('moves between rows with the arrow keys and selects with Enter', async () => {
    const picked: string[] = [];
    const root = render({ rows, columns, values, onselect: (r: string) => picked.push(r) });
    const rowsEls = () => [...root.querySelectorAll<HTMLElement>('[data-testid="heatmap-row"]')];
    expect(rowsEls().map((r) => r.tabIndex)).toEqual([0, -1, -1]);
    rowsEls()[0].dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
    flushSync();
    rowsEls()[1].dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    expect(picked).toEqual(['conv2', 'conv2']);
  });
});
