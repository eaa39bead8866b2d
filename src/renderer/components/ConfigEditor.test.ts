// The config editor validates as the user types: a bad percentile is marked at
// its cell and listed with its exact JSON path; a valid edit clears it. Real
// Svelte component, real precompiled schema validator, happy-dom.
import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import ConfigEditor from './ConfigEditor.svelte';
import type { ConfigJson } from '../lib/config-edit';
import type { ConfigIssue } from '../../shared/config-types';
import { reactive } from './test-state.svelte';

const CONFIG: ConfigJson = {
  version: 1,
  batch_num: 2,
  activation_offset: true,
  do_fusion: true,
  skip_fusion_layers: [],
  'features/conv1': {
    quant_enable: true,
    activation_quant_params: { max_percentile: 0.999999, min_percentile: 0.999999, search_range: [0.7, 1.3], search_step: 0.01, act_algo: 'ifmr' },
    weight_quant_params: { wts_algo: 'arq_quantize', channel_wise: true },
  },
  fc: { quant_enable: true, weight_quant_params: { channel_wise: false } },
};
const MODEL = { 'features/conv1': { opType: 'Conv', kernelDims: 2 }, fc: { opType: 'Gemm' } };

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

/** Mount the editor the way the wizard does: it owns the config and feeds edits back in. */
function setup() {
  const state = holder();
  const target = document.createElement('div');
  document.body.appendChild(target);
  component = mount(ConfigEditor, {
    target,
    props: {
      get config() {
        return state.config;
      },
      modelLayers: MODEL,
      onchange: (next: ConfigJson) => {
        state.config = next;
      },
      onissues: (issues: ConfigIssue[], unparsed: boolean) => {
        state.issues = issues;
        state.unparsed = unparsed;
      },
    },
  });
  flushSync();
  return { target, state };
}

// Where the test keeps what the editor reports, in Svelte state as the wizard's session does.
function holder() {
  return reactive({ config: CONFIG, issues: [] as ConfigIssue[], unparsed: false });
}

function type(input: HTMLInputElement, text: string) {
  input.value = text;
  input.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
}

describe('ConfigEditor validation', () => {
  it('shows the path-precise error for a percentile outside (0.5, 1], and clears it after a valid edit', () => {
    const { target, state } = setup();
    expect(target.querySelector('[data-testid="config-status"]')!.textContent).toContain('valid');
    const row = target.querySelector('[data-testid="config-row"][data-layer="features/conv1"]')!;
    const cell = row.querySelector<HTMLInputElement>('[data-testid="cell-max_percentile"]')!;

    type(cell, '1.5');
    expect(state.config['features/conv1']).toMatchObject({ activation_quant_params: { max_percentile: 1.5 } });
    expect(state.issues.map((i) => i.path)).toEqual(['$["features/conv1"].activation_quant_params.max_percentile']);
    expect(state.issues[0].message).toMatch(/must be <= 1/);
    expect(state.issues[0].message).toContain('1.5');
    const issue = target.querySelector('[data-testid="config-issue"]')!;
    expect(issue.getAttribute('data-path')).toBe('$["features/conv1"].activation_quant_params.max_percentile');
    expect(cell.getAttribute('aria-invalid')).toBe('true');
    expect(target.querySelector('[data-testid="config-status"]')!.textContent).toContain('1 problem');

    type(cell, '0.9999');
    expect(state.issues).toEqual([]);
    expect(state.config['features/conv1']).toMatchObject({ activation_quant_params: { max_percentile: 0.9999 } });
    expect(target.querySelector('[data-testid="config-issue"]')).toBeNull();
    expect(cell.getAttribute('aria-invalid')).toBe('false');
  });

  it('applies the cross-field rules: search_step wider than the search range, channel_wise on a Gemm', () => {
    const { target, state } = setup();
    const conv = target.querySelector('[data-testid="config-row"][data-layer="features/conv1"]')!;
    type(conv.querySelector<HTMLInputElement>('[data-testid="cell-search_step"]')!, '0.8');
    expect(state.issues).toEqual([
      expect.objectContaining({ path: '$["features/conv1"].activation_quant_params.search_step', message: expect.stringContaining('(0, 0.6]') }),
    ]);
    type(conv.querySelector<HTMLInputElement>('[data-testid="cell-search_step"]')!, '0.05');
    expect(state.issues).toEqual([]);
    const fc = target.querySelector('[data-testid="config-row"][data-layer="fc"]')!;
    const box = fc.querySelector<HTMLInputElement>('[data-testid="cell-channel_wise"]')!;
    box.checked = true;
    box.dispatchEvent(new Event('change', { bubbles: true }));
    flushSync();
    expect(state.issues.map((i) => i.path)).toEqual(['$["fc"].weight_quant_params.channel_wise']);
  });

  it('validates raw JSON as it is typed', () => {
    const { target, state } = setup();
    (target.querySelector('[data-testid="config-mode-json"]') as HTMLButtonElement).click();
    flushSync();
    const area = target.querySelector<HTMLTextAreaElement>('[data-testid="config-json"]')!;
    area.value = '{"version": 1, "fc": {"quant_enable": "no"}}';
    area.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    expect(state.issues.map((i) => i.path)).toEqual(['$["fc"].quant_enable']);
    expect(target.querySelector('[data-testid="config-issue"]')!.textContent).toContain('must be a boolean, found the string "no"');
    area.value = '{"version": 1,';
    area.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    expect(target.querySelector('[data-testid="config-issue"]')!.textContent).toContain('not valid JSON');
  });

  it('keeps JSON edits: text that does not parse is neither dropped on a switch to the table nor taken for valid', () => {
    const { target, state } = setup();
    const q = <T extends Element>(id: string) => target.querySelector<T>(`[data-testid="${id}"]`);
    // a bad value in the table, then the JSON view: it still counts the problem
    type(target.querySelector<HTMLInputElement>('[data-testid="config-row"][data-layer="fc"] [data-testid="cell-search_step"]')!, '5');
    q<HTMLButtonElement>('config-mode-json')!.click();
    flushSync();
    expect(q('config-status')!.textContent).toContain('1 problem');
    // four edits, then a syntax error
    const area = q<HTMLTextAreaElement>('config-json')!;
    let text = area.value;
    for (const [from, to] of [['"batch_num": 2', '"batch_num": 4'], ['"do_fusion": true', '"do_fusion": false'], ['0.999999', '0.9999'], ['"search_step": 5', '"search_step": 0.02']]) {
      text = text.replace(from, to);
      area.value = text;
      area.dispatchEvent(new Event('input', { bubbles: true }));
      flushSync();
    }
    expect(state.config).toMatchObject({ batch_num: 4, do_fusion: false, fc: { activation_quant_params: { search_step: 0.02 } } });
    area.value = text.replace('"batch_num": 4', '"batch_num": 8,,');
    area.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    expect(state.unparsed).toBe(true);
    q<HTMLButtonElement>('config-mode-table')!.click();
    flushSync();
    // still in the JSON view, the typed text intact, with the reason said
    expect(q('config-json')).not.toBeNull();
    expect(q<HTMLTextAreaElement>('config-json')!.value).toContain('"batch_num": 8,,');
    expect(q('config-json-blocked')!.textContent).toContain('does not parse');
    expect(q('config-status')!.textContent).toContain('1 problem');
    // discarding is explicit, and keeps every edit that parsed
    q<HTMLButtonElement>('config-json-discard')!.click();
    flushSync();
    expect(q('config-table')).not.toBeNull();
    expect(state.unparsed).toBe(false);
    expect(state.config).toMatchObject({ batch_num: 4, do_fusion: false });
    expect(q<HTMLInputElement>('global-batch_num')!.value).toBe('4');
  });

  it('names every input of the table for screen readers', () => {
    const { target } = setup();
    const inputs = [...target.querySelectorAll<HTMLElement>('[data-testid="config-table"] input, [data-testid="config-table"] select')];
    expect(inputs.length).toBeGreaterThan(10);
    for (const el of inputs) expect(el.getAttribute('aria-label') ?? '', el.outerHTML).toMatch(/\S+ of |quantize /);
  });
});
