// Validation of config.json as the user types: the shared JSON Schema
// (precompiled, see gen-config-validator.mjs) plus the cross-field rules a
// schema cannot say. Issues carry the same JSON paths the engine reports
// (`$["conv1"].activation_quant_params.max_percentile`), so the editor can
// place each message next to the field it is about.

import { GLOBAL_CONFIG_KEYS, PER_TENSOR_OPS, DEFAULT_ACTIVATION_PARAMS, type ConfigIssue, type LayerQuantConfig } from '../../shared/config-types';
import { validate, type AjvError } from './config-validator.generated';

/** What the validator needs to know of the model: layer name → op type (and kernel rank for Conv). */
export interface ModelLayers {
  [name: string]: { opType: string; kernelDims?: number };
}

const isGlobal = (k: unknown) => (GLOBAL_CONFIG_KEYS as readonly unknown[]).includes(k);

export function jsonPath(keys: (string | number)[]): string {
  const [first, ...rest] = keys;
  let out = '$';
  keys.forEach((k, i) => {
    if (typeof k === 'number') out += `[${k}]`;
    // a layer key always goes in brackets so layer paths read alike
    else if (i === 0 && !isGlobal(first)) out += `[${JSON.stringify(k)}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) out += `.${k}`;
    else out += `[${JSON.stringify(k)}]`;
  });
  void rest;
  return out;
}

/** Path of a field of a layer entry: layerPath('conv1', 'activation_quant_params', 'search_step'). */
export function layerPath(layer: string, ...rest: (string | number)[]): string {
  return jsonPath([layer, ...rest]);
}

function pointerKeys(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'object') return 'an object';
  return JSON.stringify(v);
}

function valueAt(root: unknown, keys: (string | number)[]): unknown {
  let v: any = root;
  for (const k of keys) v = v == null ? undefined : v[k];
  return v;
}

function schemaIssue(e: AjvError, root: unknown): ConfigIssue | null {
  const keys = pointerKeys(e.instancePath);
  const value = valueAt(root, keys);
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String(e.params.additionalProperty);
      return { path: jsonPath([...keys, field]), message: `unknown field "${field}"` };
    }
    case 'type':
      return { path: jsonPath(keys), message: `must be ${e.params.type === 'integer' ? 'an integer' : `a ${String(e.params.type)}`}, found ${describe(value)}` };
    case 'const':
      return { path: jsonPath(keys), message: `must be ${JSON.stringify(e.params.allowedValue)}, found ${describe(value)}` };
    case 'enum':
      return { path: jsonPath(keys), message: `must be one of ${(e.params.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}, found ${describe(value)}` };
    case '$ref':
      return null;
    default:
      return { path: jsonPath(keys), message: `${e.message ?? 'invalid value'}, found ${describe(value)}` };
  }
}

function layerRuleIssues(key: string, entry: LayerQuantConfig, layer?: { opType: string; kernelDims?: number }): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const act = entry.activation_quant_params;
  if (act && typeof act === 'object') {
    const range = act.search_range;
    const rangeOk = Array.isArray(range) && range.length === 2 && range.every((v) => typeof v === 'number');
    const [start, end] = rangeOk ? range : DEFAULT_ACTIVATION_PARAMS.search_range;
    if (rangeOk && !(start < end)) {
      out.push({ path: layerPath(key, 'activation_quant_params', 'search_range'), message: `start must be below end (0 < start < end), found [${start}, ${end}]` });
    } else if (typeof act.search_step === 'number' && act.search_step > 0 && act.search_step > (end - start) * (1 + 1e-12)) {
      out.push({
        path: layerPath(key, 'activation_quant_params', 'search_step'),
        message: `must be in (0, ${+(end - start).toPrecision(12)}] (the width of search_range [${start}, ${end}]), found ${act.search_step}`,
      });
    }
    if (layer && act.asymmetric === true && layer.opType === 'Conv' && layer.kernelDims === 3) {
      out.push({ path: layerPath(key, 'activation_quant_params', 'asymmetric'), message: 'a Conv with a 3-D kernel supports symmetric activations only; set it to false' });
    }
  }
  const wts = entry.weight_quant_params;
  if (layer && wts && typeof wts === 'object' && wts.channel_wise === true && PER_TENSOR_OPS.includes(layer.opType)) {
    out.push({ path: layerPath(key, 'weight_quant_params', 'channel_wise'), message: `must be false for ${layer.opType} layers (per-tensor weights only)` });
  }
  return out;
}

/**
 * Every problem of a parsed config.json. `layers`, when given, also checks that
 * each layer key names a quantizable layer of the model and applies per-op rules.
 */
export function validateConfig(json: unknown, layers?: ModelLayers): ConfigIssue[] {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return [{ path: '$', message: `config.json must hold a JSON object, found ${describe(json)}` }];
  }
  const issues: ConfigIssue[] = [];
  if (!validate(json)) {
    for (const e of validate.errors ?? []) {
      const issue = schemaIssue(e, json);
      if (issue && !issues.some((x) => x.path === issue.path && x.message === issue.message)) issues.push(issue);
    }
  }
  for (const [key, entry] of Object.entries(json as Record<string, unknown>)) {
    if (isGlobal(key)) continue;
    if (layers && !layers[key]) {
      issues.push({ path: layerPath(key), message: `"${key}" is not a quantizable layer of the model` });
      continue;
    }
    if (typeof entry === 'object' && entry !== null) issues.push(...layerRuleIssues(key, entry as LayerQuantConfig, layers?.[key]));
  }
  return issues;
}

/** Parse raw JSON text and validate it; a syntax error is one issue at `$`. */
export function validateConfigText(text: string, layers?: ModelLayers): { value?: unknown; issues: ConfigIssue[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { issues: [{ path: '$', message: `not valid JSON: ${(err as Error).message}` }] };
  }
  return { value, issues: validateConfig(value, layers) };
}

/** Issues about one layer field (or the whole layer when `field` is omitted). */
export function issuesAt(issues: readonly ConfigIssue[], layer: string, ...field: (string | number)[]): ConfigIssue[] {
  const path = layerPath(layer, ...field);
  return issues.filter((i) => i.path === path || (field.length > 0 && i.path.startsWith(`${path}[`)));
}
