// What differs between two config.json files, field by field, for comparing
// runs: "conv1 · activation_quant_params.max_percentile: 0.999999 → 0.9999".

import { isGlobalKey, type ConfigJson } from './config-edit';

export interface ConfigChange {
  /** the layer, or null for a global setting */
  layer: string | null;
  /** the field inside the layer entry (or the global key), dotted */
  field: string;
  before: unknown;
  after: unknown;
}

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, value);
  }
}

function fields(entry: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  flatten(entry, '', out);
  return out;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Every field whose value differs (a field only one side has counts too), globals first, then layers in file order. */
export function diffConfigs(a: ConfigJson, b: ConfigJson): ConfigChange[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const globals = keys.filter(isGlobalKey);
  const layers = keys.filter((k) => !isGlobalKey(k));
  const changes: ConfigChange[] = [];
  for (const k of globals) if (!same(a[k], b[k])) changes.push({ layer: null, field: k, before: a[k], after: b[k] });
  for (const layer of layers) {
    const fa = fields(a[layer]);
    const fb = fields(b[layer]);
    for (const f of new Set([...fa.keys(), ...fb.keys()])) {
      if (!same(fa.get(f), fb.get(f))) changes.push({ layer, field: f, before: fa.get(f), after: fb.get(f) });
    }
  }
  return changes;
}

/** A value as the diff shows it; a field one side lacks reads "default". */
export function showValue(v: unknown): string {
  return v === undefined ? 'default' : JSON.stringify(v);
}
