// The problems of a config.json, as JSON paths and plain messages: one set of
// rules for the engine (which refuses a bad file) and the renderer's editor
// (which shows each problem beside its field as the user types). The schema
// (config-schema.ts) checks types and ranges; these add the rules that need
// the model or that relate two fields.

import {
  DEFAULT_ACTIVATION_PARAMS,
  GLOBAL_CONFIG_KEYS,
  PER_TENSOR_OPS,
  type ConfigIssue,
  type LayerQuantConfig,
} from './config-types';

/** A quantizable layer of the model, as config.json sees it. */
export interface ConfigLayer {
  name: string;
  opType: string;
  /** spatial kernel dimensions of a Conv (1, 2 or 3) */
  kernelDims?: number;
}

export interface ConfigModel {
  /** the quantizable layers */
  layers: ConfigLayer[];
  /** names of layers that BN fusion can fuse (for skip_fusion_layers); unchecked when absent */
  fusible?: string[];
}

/** The part of an ajv error these rules read. */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** A compiled schema: true when valid, else its errors in `.errors`. */
export type SchemaValidator = ((json: unknown) => boolean) & { errors?: SchemaError[] | null };

// ---- names and paths ----

export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** Up to `max` names closest to `name` by edit distance (case-insensitive), nearest first. */
export function closestNames(name: string, candidates: Iterable<string>, max = 3): string[] {
  const lower = name.toLowerCase();
  return [...new Set(candidates)]
    .map((c) => ({ c, d: levenshtein(lower, c.toLowerCase()) }))
    .filter(({ c, d }) => d <= Math.max(3, Math.ceil(Math.max(c.length, name.length) / 2)))
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .slice(0, max)
    .map(({ c }) => c);
}

/** JSON path of a sequence of keys: $["MobilenetV2/Conv/Conv2D"].activation_quant_params.search_step */
export function jsonPath(keys: (string | number)[]): string {
  let out = '$';
  for (const k of keys) {
    if (typeof k === 'number') out += `[${k}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) out += `.${k}`;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out;
}

/** The top-level key of a layer always goes in brackets, so layer paths read alike. */
export function layerPath(layer: string, ...rest: (string | number)[]): string {
  return `$[${JSON.stringify(layer)}]${jsonPath(rest).slice(1)}`;
}

function pointerKeys(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function pathOf(keys: (string | number)[]): string {
  const [first, ...rest] = keys;
  if (typeof first === 'string' && !(GLOBAL_CONFIG_KEYS as readonly string[]).includes(first)) return layerPath(first, ...rest);
  return jsonPath(keys);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

const LAYER_FIELDS = ['quant_enable', 'activation_quant_params', 'weight_quant_params'];
const ACT_FIELDS = ['max_percentile', 'min_percentile', 'search_range', 'search_step', 'act_algo', 'asymmetric'];
const WTS_FIELDS = ['wts_algo', 'channel_wise'];

function valueAt(root: unknown, keys: (string | number)[]): unknown {
  let v: any = root;
  for (const k of keys) v = v == null ? undefined : v[k];
  return v;
}

function schemaIssue(e: SchemaError, root: unknown): ConfigIssue | null {
  const keys = pointerKeys(e.instancePath);
  const value = valueAt(root, keys);
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String(e.params.additionalProperty);
      const last = keys[keys.length - 1];
      const allowed = last === 'activation_quant_params' ? ACT_FIELDS : last === 'weight_quant_params' ? WTS_FIELDS : LAYER_FIELDS;
      const suggestions = closestNames(field, allowed);
      return {
        path: pathOf([...keys, field]),
        message: `unknown field "${field}"${suggestions.length ? ` (did you mean "${suggestions[0]}"?)` : ''}; allowed: ${allowed.join(', ')}`,
        suggestions,
      };
    }
    case 'type':
      return { path: pathOf(keys), message: `must be ${e.params.type === 'integer' ? 'an integer' : `a ${String(e.params.type)}`}, found ${describe(value)}` };
    case 'const':
      return { path: pathOf(keys), message: `must be ${JSON.stringify(e.params.allowedValue)}, found ${describe(value)}` };
    case 'enum':
      return { path: pathOf(keys), message: `must be one of ${(e.params.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}, found ${describe(value)}` };
    case 'exclusiveMinimum':
    case 'minimum':
    case 'maximum':
    case 'exclusiveMaximum':
    case 'minItems':
    case 'maxItems':
    case 'uniqueItems':
      return { path: pathOf(keys), message: `${e.message}, found ${JSON.stringify(value)}` };
    case '$ref':
      return null;
    default:
      return { path: pathOf(keys), message: e.message ?? 'invalid value' };
  }
}

// ---- validation ----

/**
 * Every problem of a parsed config.json: the schema's (turned into JSON paths
 * and plain messages), then the rules that need the model or relate two
 * fields. `validateSchema` is the compiled QUANT_CONFIG_SCHEMA: compiled at run
 * time in the engine, precompiled in the renderer (its page allows no eval).
 */
export function configIssues(json: unknown, validateSchema: SchemaValidator, model: ConfigModel): ConfigIssue[] {
  const errors: ConfigIssue[] = [];
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return [{ path: '$', message: `config.json must hold a JSON object, found ${describe(json)}` }];
  }
  const root = json as Record<string, unknown>;
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const isGlobal = (k: unknown) => (GLOBAL_CONFIG_KEYS as readonly unknown[]).includes(k);
  if (!validateSchema(json)) {
    for (const e of validateSchema.errors ?? []) {
      // an entry for a name the model lacks is reported once, below, with suggestions
      const top = pointerKeys(e.instancePath)[0];
      if (top !== undefined && !isGlobal(top) && !byName.has(String(top))) continue;
      const issue = schemaIssue(e, json);
      if (issue && !errors.some((x) => x.path === issue.path && x.message === issue.message)) errors.push(issue);
    }
  }
  for (const [key, entry] of Object.entries(root)) {
    if (isGlobal(key)) continue;
    const layer = byName.get(key);
    if (!layer) {
      const suggestions = closestNames(key, [...byName.keys(), ...GLOBAL_CONFIG_KEYS]);
      errors.push({
        path: layerPath(key),
        message: `"${key}" is not a quantizable layer of the model${suggestions.length ? `; closest: ${suggestions.map((s) => `"${s}"`).join(', ')}` : ''}`,
        suggestions,
      });
      continue;
    }
    if (typeof entry !== 'object' || entry === null) continue; // the schema already reported it
    errors.push(...layerRuleIssues(key, layer, entry as LayerQuantConfig));
  }
  const skipFusion = root.skip_fusion_layers;
  if (model.fusible && Array.isArray(skipFusion)) {
    const fusible = new Set(model.fusible);
    skipFusion.forEach((name, i) => {
      if (typeof name === 'string' && !fusible.has(name)) {
        const suggestions = closestNames(name, fusible);
        errors.push({
          path: jsonPath(['skip_fusion_layers', i]),
          message: `"${name}" is not a fusible layer${suggestions.length ? `; closest: ${suggestions.map((s) => `"${s}"`).join(', ')}` : ''}`,
          suggestions,
        });
      }
    });
  }
  return errors;
}

function layerRuleIssues(key: string, layer: ConfigLayer, entry: LayerQuantConfig): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const act = entry.activation_quant_params;
  if (act && typeof act === 'object') {
    const range = act.search_range;
    const rangeOk = Array.isArray(range) && range.length === 2 && range.every((v) => typeof v === 'number');
    const [start, end] = rangeOk ? range : (DEFAULT_ACTIVATION_PARAMS.search_range as number[]);
    if (rangeOk && !(start < end)) {
      out.push({ path: layerPath(key, 'activation_quant_params', 'search_range'), message: `start must be below end (0 < start < end), found [${start}, ${end}]` });
    } else if (typeof act.search_step === 'number' && act.search_step > 0 && act.search_step > (end - start) * (1 + 1e-12)) {
      out.push({
        path: layerPath(key, 'activation_quant_params', 'search_step'),
        message: `must be in (0, ${+(end - start).toPrecision(12)}] (the width of search_range [${start}, ${end}]), found ${act.search_step}`,
      });
    }
    if (act.asymmetric === true && layer.opType === 'Conv' && layer.kernelDims === 3) {
      out.push({
        path: layerPath(key, 'activation_quant_params', 'asymmetric'),
        message: 'a Conv with a 3-D kernel supports symmetric activations only; set it to false',
      });
    }
  }
  const wts = entry.weight_quant_params;
  if (wts && typeof wts === 'object' && wts.channel_wise === true && PER_TENSOR_OPS.includes(layer.opType)) {
    out.push({
      path: layerPath(key, 'weight_quant_params', 'channel_wise'),
      message: `must be false for ${layer.opType} layers (per-tensor weights only)`,
    });
  }
  return out;
}
