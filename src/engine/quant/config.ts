// config.json: create it for a model, validate it on every load, and resolve
// each layer's effective settings (spec §3). The schema in src/shared checks
// types and ranges; this module adds the rules that need the model or that
// relate two fields, and turns every problem into a JSON path and a message.

import { readFileSync } from 'node:fs';
import Ajv, { type ErrorObject } from 'ajv';
import { QUANT_CONFIG_SCHEMA } from '../../shared/config-schema';
import {
  CHANNEL_WISE_OPS,
  DEFAULT_ACTIVATION_PARAMS,
  DEFAULT_GLOBALS,
  GLOBAL_CONFIG_KEYS,
  PER_TENSOR_OPS,
  type ConfigIssue,
  type LayerQuantConfig,
  type QuantConfig,
  type ResolvedLayerConfig,
} from '../../shared/config-types';
import { QtuneError } from '../../shared/errors';

export type { ConfigIssue, QuantConfig, ResolvedLayerConfig } from '../../shared/config-types';

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

export interface CreateConfigOptions {
  batchNum?: number;
  activationOffset?: boolean;
  /** layers to leave in float (quant_enable: false) */
  skipLayers?: string[];
  doFusion?: boolean;
  skipFusionLayers?: string[];
}

const ajv = new Ajv({ allErrors: true, strict: true });
const validateSchema = ajv.compile(QUANT_CONFIG_SCHEMA);

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
function layerPath(layer: string, ...rest: (string | number)[]): string {
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

function schemaIssue(e: ErrorObject, root: unknown): ConfigIssue | null {
  const keys = pointerKeys(e.instancePath);
  const value = valueAt(root, keys);
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = (e.params as { additionalProperty: string }).additionalProperty;
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
      return { path: pathOf(keys), message: `must be ${e.params.type === 'integer' ? 'an integer' : `a ${e.params.type}`}, found ${describe(value)}` };
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

/** Check a parsed config.json against the schema and the model. Never throws for bad content. */
export function validateQuantConfig(
  json: unknown,
  model: ConfigModel,
  file?: string,
): { ok: true; config: QuantConfig } | { ok: false; errors: ConfigIssue[] } {
  void file;
  const errors: ConfigIssue[] = [];
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, errors: [{ path: '$', message: `config.json must hold a JSON object, found ${describe(json)}` }] };
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
  if (errors.length) return { ok: false, errors };
  return { ok: true, config: fromJson(root) };
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

function fromJson(root: Record<string, unknown>): QuantConfig {
  const layers: Record<string, LayerQuantConfig> = {};
  for (const [k, v] of Object.entries(root)) {
    if (!(GLOBAL_CONFIG_KEYS as readonly string[]).includes(k)) layers[k] = structuredClone(v as LayerQuantConfig);
  }
  return {
    version: 1,
    batch_num: (root.batch_num as number | undefined) ?? DEFAULT_GLOBALS.batch_num,
    activation_offset: (root.activation_offset as boolean | undefined) ?? DEFAULT_GLOBALS.activation_offset,
    do_fusion: (root.do_fusion as boolean | undefined) ?? DEFAULT_GLOBALS.do_fusion,
    skip_fusion_layers: [...((root.skip_fusion_layers as string[] | undefined) ?? [])],
    layers,
  };
}

/** One QtuneError (code config_invalid) listing every problem. */
export function configInvalidError(errors: ConfigIssue[], file?: string): QtuneError {
  const lines = errors.map((e) => `  ${e.path}: ${e.message}`);
  return new QtuneError(
    'config_invalid',
    `${file ?? 'config.json'} has ${errors.length} problem${errors.length === 1 ? '' : 's'}:\n${lines.join('\n')}`,
    { file, path: errors[0]?.path },
  );
}

/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, pos: number): { line: number; column: number } {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return { line, column: pos - before.lastIndexOf('\n') };
}

/** Read, parse and validate a config.json; throws a QtuneError naming the file (and line/column for bad JSON). */
export function parseQuantConfigFile(path: string, model: ConfigModel): QuantConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new QtuneError('config_unreadable', `Cannot read ${path}: ${(e as Error).message}`, { file: path });
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    const msg = (e as Error).message;
    const lc = /line (\d+) column (\d+)/.exec(msg);
    const pos = /position (\d+)/.exec(msg);
    const where = lc ? { line: Number(lc[1]), column: Number(lc[2]) } : pos ? lineColumn(text, Number(pos[1])) : lineColumn(text, text.length);
    throw new QtuneError('config_syntax', `${path}:${where.line}:${where.column}: invalid JSON (${msg})`, {
      file: path,
      hint: 'Check for a missing comma or quote, or a trailing comma, near that place.',
    });
  }
  const result = validateQuantConfig(json, model, path);
  if (!result.ok) throw configInvalidError(result.errors, path);
  return result.config;
}

// ---- creation and resolution ----

function defaultChannelWise(opType: string | undefined): boolean {
  return opType === undefined ? true : CHANNEL_WISE_OPS.includes(opType);
}

/**
 * The config "create config" writes for a model: every quantizable layer with
 * all its fields. `asymmetric` is left out (so the global activation_offset
 * applies) except for 3-D Conv, which must stay symmetric.
 */
export function createQuantConfig(layers: ConfigLayer[], opts: CreateConfigOptions = {}): QuantConfig {
  const names = new Set(layers.map((l) => l.name));
  const skip = new Set(opts.skipLayers ?? []);
  const unknown = [...skip].filter((s) => !names.has(s));
  if (unknown.length) {
    const issues = unknown.map((u) => {
      const suggestions = closestNames(u, names);
      return {
        path: jsonPath(['skip_layers', (opts.skipLayers ?? []).indexOf(u)]),
        message: `"${u}" is not a quantizable layer of the model${suggestions.length ? `; closest: ${suggestions.map((s) => `"${s}"`).join(', ')}` : ''}`,
        suggestions,
      };
    });
    throw configInvalidError(issues, 'skip_layers');
  }
  if (opts.batchNum !== undefined && !(Number.isInteger(opts.batchNum) && opts.batchNum >= 1)) {
    throw new QtuneError('config_invalid', `batch_num must be an integer >= 1, found ${opts.batchNum}`, { path: '$.batch_num' });
  }
  const out: Record<string, LayerQuantConfig> = {};
  for (const l of layers) {
    const act: LayerQuantConfig['activation_quant_params'] = {
      max_percentile: DEFAULT_ACTIVATION_PARAMS.max_percentile,
      min_percentile: DEFAULT_ACTIVATION_PARAMS.min_percentile,
      search_range: [...DEFAULT_ACTIVATION_PARAMS.search_range],
      search_step: DEFAULT_ACTIVATION_PARAMS.search_step,
      act_algo: 'ifmr',
    };
    if (l.opType === 'Conv' && l.kernelDims === 3) act.asymmetric = false;
    out[l.name] = {
      quant_enable: !skip.has(l.name),
      activation_quant_params: act,
      weight_quant_params: { wts_algo: 'arq_quantize', channel_wise: defaultChannelWise(l.opType) },
    };
  }
  return {
    version: 1,
    batch_num: opts.batchNum ?? DEFAULT_GLOBALS.batch_num,
    activation_offset: opts.activationOffset ?? DEFAULT_GLOBALS.activation_offset,
    do_fusion: opts.doFusion ?? DEFAULT_GLOBALS.do_fusion,
    skip_fusion_layers: [...(opts.skipFusionLayers ?? [])],
    layers: out,
  };
}

/**
 * Settings the engine applies to one layer, or null when it is skipped
 * (quant_enable false or no entry). Pass the layer's op type so channel_wise
 * gets its per-op default (true for Conv/ConvTranspose, false otherwise);
 * without it channel_wise defaults to true.
 */
export function effectiveLayerConfig(
  config: QuantConfig,
  layerName: string,
  layer?: { opType: string; kernelDims?: number },
): ResolvedLayerConfig | null {
  if (!Object.prototype.hasOwnProperty.call(config.layers, layerName)) return null;
  const entry = config.layers[layerName];
  if (entry.quant_enable === false) return null;
  const act = entry.activation_quant_params ?? {};
  const wts = entry.weight_quant_params ?? {};
  const conv3d = layer?.opType === 'Conv' && layer.kernelDims === 3;
  const range = act.search_range ?? DEFAULT_ACTIVATION_PARAMS.search_range;
  return {
    name: layerName,
    activation: {
      maxPercentile: act.max_percentile ?? DEFAULT_ACTIVATION_PARAMS.max_percentile,
      minPercentile: act.min_percentile ?? DEFAULT_ACTIVATION_PARAMS.min_percentile,
      searchRange: [range[0], range[1]],
      searchStep: act.search_step ?? DEFAULT_ACTIVATION_PARAMS.search_step,
      // the layer's own switch wins over the global one; a 3-D Conv is always symmetric
      asymmetric: conv3d ? false : (act.asymmetric ?? config.activation_offset),
      actAlgo: 'ifmr',
    },
    weight: {
      channelWise: wts.channel_wise ?? defaultChannelWise(layer?.opType),
      wtsAlgo: 'arq_quantize',
    },
  };
}

/** The configuration actually applied, with every default written out (for export next to a run). */
export function effectiveConfig(config: QuantConfig, layers: ConfigLayer[]): QuantConfig {
  const ops = new Map(layers.map((l) => [l.name, l]));
  const out: Record<string, LayerQuantConfig> = {};
  for (const [name, entry] of Object.entries(config.layers)) {
    const resolved = effectiveLayerConfig({ ...config, layers: { [name]: { ...entry, quant_enable: true } } }, name, ops.get(name));
    if (!resolved) continue;
    const a = resolved.activation;
    out[name] = {
      quant_enable: entry.quant_enable !== false,
      activation_quant_params: {
        max_percentile: a.maxPercentile,
        min_percentile: a.minPercentile,
        search_range: [a.searchRange[0], a.searchRange[1]],
        search_step: a.searchStep,
        act_algo: 'ifmr',
        asymmetric: a.asymmetric,
      },
      weight_quant_params: { wts_algo: 'arq_quantize', channel_wise: resolved.weight.channelWise },
    };
  }
  return { ...config, skip_fusion_layers: [...config.skip_fusion_layers], layers: out };
}

/** The file form: global fields first, then one top-level key per layer. */
export function quantConfigToJson(config: QuantConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    version: config.version,
    batch_num: config.batch_num,
    activation_offset: config.activation_offset,
    do_fusion: config.do_fusion,
    skip_fusion_layers: [...config.skip_fusion_layers],
  };
  for (const [name, entry] of Object.entries(config.layers)) out[name] = structuredClone(entry);
  return out;
}

export function formatQuantConfig(config: QuantConfig): string {
  return `${JSON.stringify(quantConfigToJson(config), null, 2)}\n`;
}
