// Small, pure edits of a config.json object as the editor makes them. The
// object keeps the file's shape (globals and layer entries side by side, in
// file order) so what the user saves reads like what they opened.

import { DEFAULT_ACTIVATION_PARAMS, GLOBAL_CONFIG_KEYS, type LayerQuantConfig } from '../../shared/config-types';

export type ConfigJson = Record<string, unknown>;

/**
 * A deep copy. Not structuredClone: the config usually lives in Svelte state,
 * whose proxies structuredClone refuses; config.json is plain JSON anyway.
 */
export function cloneConfig<T>(config: T): T {
  return JSON.parse(JSON.stringify(config)) as T;
}

export const isGlobalKey = (k: string) => (GLOBAL_CONFIG_KEYS as readonly string[]).includes(k);

export function layerNames(config: ConfigJson): string[] {
  return Object.keys(config).filter((k) => !isGlobalKey(k));
}

export function layerEntry(config: ConfigJson, layer: string): LayerQuantConfig {
  const v = config[layer];
  return v && typeof v === 'object' ? (v as LayerQuantConfig) : {};
}

/** A layer is quantized unless its entry says quant_enable: false. */
export function isEnabled(config: ConfigJson, layer: string): boolean {
  return layer in config && layerEntry(config, layer).quant_enable !== false;
}

/** A copy with one field of one layer set; group undefined = a field of the entry itself. */
export function setLayerField(
  config: ConfigJson,
  layer: string,
  group: 'activation_quant_params' | 'weight_quant_params' | undefined,
  field: string,
  value: unknown,
): ConfigJson {
  const next = cloneConfig(config);
  const entry = { ...layerEntry(next, layer) } as Record<string, unknown>;
  if (group) entry[group] = { ...((entry[group] as Record<string, unknown>) ?? {}), [field]: value };
  else entry[field] = value;
  next[layer] = entry;
  return next;
}

/** A copy with one end (0: start, 1: end) of the IFMR search range set on each layer; the other end stays (or takes the default). */
export function setSearchRangeEnd(config: ConfigJson, layers: Iterable<string>, end: 0 | 1, value: unknown): ConfigJson {
  let next = config;
  for (const l of layers) {
    const range = [...(layerEntry(next, l).activation_quant_params?.search_range ?? DEFAULT_ACTIVATION_PARAMS.search_range)] as unknown[];
    range[end] = value;
    next = setLayerField(next, l, 'activation_quant_params', 'search_range', range);
  }
  return next;
}

export function setEnabled(config: ConfigJson, layers: Iterable<string>, enabled: boolean): ConfigJson {
  let next = config;
  for (const l of layers) next = setLayerField(next, l, undefined, 'quant_enable', enabled);
  return next;
}

export function setGlobal(config: ConfigJson, key: string, value: unknown): ConfigJson {
  return { ...cloneConfig(config), [key]: value };
}

/** Layers whose quant_enable differs between two configs, for notes such as "skipped conv1, fc2". */
export function enabledDiff(before: ConfigJson, after: ConfigJson): { skipped: string[]; enabled: string[] } {
  const skipped: string[] = [];
  const enabled: string[] = [];
  for (const l of layerNames(after)) {
    const a = isEnabled(before, l);
    const b = isEnabled(after, l);
    if (a && !b) skipped.push(l);
    if (!a && b) enabled.push(l);
  }
  return { skipped, enabled };
}

/** Parse a number typed in a cell; '' and garbage become the string itself so validation names them. */
export function parseNumberInput(text: string): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}
