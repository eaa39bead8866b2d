// The one reader of a quantization run's statistics file (<name>_stats.json,
// written by engine/quant/quantize.ts as QuantStatsFile): the analyzer reads it
// from disk, the backend hands it to the renderer, the renderer draws from it.
// Pure (no file access), so every side applies the same checks.

import { QtuneError } from './errors';
import type { LayerActivationStats } from './analysis-types';
import type { LayerQuantStats, QuantStatsFile } from './quant-types';

/** The stats file's schema version this build writes and reads (every stats file qtune wrote is version 1). */
export const STATS_FILE_VERSION = 1;

/**
 * Upgrades of older versions, one step each: version n → n + 1. Every stats
 * file qtune has written is version 1, so there is none yet; a change to the
 * layout adds one here and bumps STATS_FILE_VERSION.
 */
const MIGRATIONS: Record<number, (old: Record<string, unknown>) => Record<string, unknown>> = {};

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNums = (v: unknown): v is number[] => Array.isArray(v) && v.every((e) => typeof e === 'number');

/** Check and, where it is older, migrate a parsed stats file; a file from a newer qtune or not a stats file is a clear error naming it. */
export function parseStatsFile(json: unknown, file = 'stats file'): QuantStatsFile {
  const bad = (what: string) => new QtuneError('analyze_stats', `${file} is not a qtune statistics file: ${what}`, { file });
  if (!isObj(json)) throw bad('expected a JSON object');
  let version = json.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) throw bad('no schema version');
  if (version > STATS_FILE_VERSION) {
    throw new QtuneError('analyze_stats', `${file} was written by a newer qtune (statistics version ${version}; this one reads up to ${STATS_FILE_VERSION})`, { file });
  }
  let doc = json;
  for (; version < STATS_FILE_VERSION; version++) doc = MIGRATIONS[version](doc);
  if (!Array.isArray(doc.layers)) throw bad('"layers" must be a list');
  doc.layers.forEach((l, i) => {
    if (!isObj(l) || typeof l.name !== 'string') throw bad(`layers[${i}] has no name`);
    const h = l.histogram;
    if (h !== undefined && !(isObj(h) && typeof h.min === 'number' && typeof h.max === 'number' && isNums(h.counts))) throw bad(`layers[${i}].histogram must be { min, max, counts }`);
    for (const k of ['candidates', 'losses'] as const) if (l[k] !== undefined && !isNums(l[k])) throw bad(`layers[${i}].${k} must be a list of numbers`);
  });
  return doc as unknown as QuantStatsFile;
}

/** What the analyzer and the UI show of one layer's statistics: the input histogram, the percentile inits, the IFMR curve and choice. */
export function layerActivationStats(l: LayerQuantStats): LayerActivationStats {
  const out: LayerActivationStats = {
    histogram: l.histogram, min: l.min, max: l.max, maxInit: l.maxInit, minInit: l.minInit, clipMin: l.clipMin, clipMax: l.clipMax,
    scale: l.scale, offset: l.offset, candidates: l.candidates, losses: l.losses, bestIndex: l.bestIndex,
  };
  for (const k of Object.keys(out) as (keyof LayerActivationStats)[]) if (out[k] === undefined) delete out[k];
  return out;
}

/** layer name → its statistics. */
export function activationStatsByLayer(stats: QuantStatsFile): Map<string, LayerActivationStats> {
  return new Map(stats.layers.map((l) => [l.name, layerActivationStats(l)]));
}
