// config.json: create it for a model, validate it on every load, and resolve
// each layer's effective settings (spec §3). The schema in src/shared checks
// types and ranges; this module adds the rules that need the model or that
// relate two fields, and turns every problem into a JSON path and a message.

import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { QUANT_CONFIG_SCHEMA } from '../../shared/config-schema';
import {
  CHANNEL_WISE_OPS,
  DEFAULT_ACTIVATION_PARAMS,
  DEFAULT_GLOBALS,
  GLOBAL_CONFIG_KEYS,
  type ConfigIssue,
  type LayerQuantConfig,
  type QuantConfig,
  type ResolvedLayerConfig,
} from '../../shared/config-types';
import { QtuneError } from '../../shared/errors';
import { closestNames, configIssues, jsonPath, type ConfigLayer, type ConfigModel, type SchemaValidator } from '../../shared/config-issues';

export type { ConfigIssue, QuantConfig, ResolvedLayerConfig } from '../../shared/config-types';
export { closestNames, jsonPath, levenshtein, type ConfigLayer, type ConfigModel } from '../../shared/config-issues';

export interface CreateConfigOptions {
  batchNum?: number;
  activationOffset?: boolean;
  /** layers to leave in float (quant_enable: false) */
  skipLayers?: string[];
  doFusion?: boolean;
  skipFusionLayers?: string[];
}

const ajv = new Ajv({ allErrors: true, strict: true });
const validateSchema = ajv.compile(QUANT_CONFIG_SCHEMA) as unknown as SchemaValidator;

/** Check a parsed config.json against the schema and the model. Never throws for bad content. */
export function validateQuantConfig(json: unknown, model: ConfigModel): { ok: true; config: QuantConfig } | { ok: false; errors: ConfigIssue[] } {
  const errors = configIssues(json, validateSchema, model);
  if (errors.length) return { ok: false, errors };
  return { ok: true, config: fromJson(json as Record<string, unknown>) };
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
  const result = validateQuantConfig(json, model);
  if (!result.ok) throw configInvalidError(result.errors, path);
  return result.config;
}

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
