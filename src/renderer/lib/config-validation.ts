// Validation of config.json as the user types: the same rules the engine
// applies when it loads the file (src/shared/config-issues.ts), with the
// schema precompiled (see gen-config-validator.mjs) because the page's CSP
// allows no eval. Issues carry the engine's JSON paths
// (`$["conv1"].activation_quant_params.max_percentile`), so the editor can
// place each message next to the field it is about.

import { configIssues, jsonPath, layerPath, type ConfigModel } from '../../shared/config-issues';
import type { ConfigIssue } from '../../shared/config-types';
import { validate } from './config-validator.generated';

export { jsonPath, layerPath };

/** What the validator needs to know of the model: layer name → op type (and kernel rank for Conv). */
export interface ModelLayers {
  [name: string]: { opType: string; kernelDims?: number };
}

function asModel(layers: ModelLayers): ConfigModel {
  return { layers: Object.entries(layers).map(([name, l]) => ({ name, ...l })) };
}

/**
 * Every problem of a parsed config.json. `layers`, when given, also checks that
 * each layer key names a quantizable layer of the model and applies per-op rules;
 * without it, only what the schema and the field relations say.
 */
export function validateConfig(json: unknown, layers?: ModelLayers): ConfigIssue[] {
  if (layers) return configIssues(json, validate, asModel(layers));
  // No model yet: treat every layer key as a layer of unknown type.
  const keys = json && typeof json === 'object' && !Array.isArray(json) ? Object.keys(json) : [];
  return configIssues(json, validate, { layers: keys.map((name) => ({ name, opType: '' })) });
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
