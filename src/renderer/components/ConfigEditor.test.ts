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
      onchange: (next: ConfigJson, issues: ConfigIssue[]) => {
        state.config = next;
        state.issues = issues;
      },
    },
  });
  flushSync();
  return { target, state };
}

// Where the test keeps what the editor reports, in Svelte state as the wizard's session does.
function holder() {
  return reactive({ config: CONFIG, issues: [] as ConfigIssue[] });
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
});
