// Per-layer activation statistics from the quantization run's stats file
// (<name>_stats.json): the float histogram of each layer input, the
// percentile initial clip values, the IFMR loss curve and the chosen clip
// range. The file is read tolerantly: layers may sit under "layers" (an
// object keyed by layer name, or an array of entries with a "name") or at the
// top level, and common spellings of each field are accepted, so a field the
// writer adds later never breaks the analyzer.
import { readFile } from 'node:fs/promises';
import { QtuneError } from '../../shared/errors';
import type { LayerActivationStats } from '../../shared/analysis-types';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((e) => typeof e === 'number');

function pickNum(o: Obj, ...keys: string[]): number | undefined {
  for (const k of keys) if (typeof o[k] === 'number') return o[k] as number;
  return undefined;
}
function pickArr(o: Obj, ...keys: string[]): number[] | undefined {
  for (const k of keys) if (isNumArray(o[k])) return o[k] as number[];
  return undefined;
}

function histogramOf(o: Obj): LayerActivationStats['histogram'] {
  const h = o.histogram ?? o.hist;
  if (isObj(h)) {
    const counts = pickArr(h, 'counts', 'bins', 'hist', 'values');
    const edges = pickArr(h, 'edges', 'binEdges', 'bin_edges');
    const min = pickNum(h, 'min', 'lo', 'low', 'start') ?? edges?.[0];
    const max = pickNum(h, 'max', 'hi', 'high', 'end') ?? edges?.[edges.length - 1];
    if (counts && min !== undefined && max !== undefined) return { min, max, counts };
  } else if (isNumArray(h)) {
    const min = pickNum(o, 'histMin', 'hist_min', 'min'), max = pickNum(o, 'histMax', 'hist_max', 'max');
    if (min !== undefined && max !== undefined) return { min, max, counts: h };
  }
  return undefined;
}

/** One layer's entry in our shape. */
export function normaliseLayerStats(entry: unknown): LayerActivationStats {
  if (!isObj(entry)) return {};
  // the IFMR part may be nested ("ifmr": {...}) or flat
  const ifmr = isObj(entry.ifmr) ? entry.ifmr : entry;
  const clip = pickArr(ifmr, 'clip', 'clipRange', 'clip_range');
  const out: LayerActivationStats = {
    histogram: histogramOf(entry),
    min: pickNum(entry, 'min', 'dataMin', 'data_min'),
    max: pickNum(entry, 'max', 'dataMax', 'data_max'),
    maxInit: pickNum(ifmr, 'maxInit', 'max_init'),
    minInit: pickNum(ifmr, 'minInit', 'min_init'),
    clipMin: pickNum(ifmr, 'clipMin', 'clip_min') ?? clip?.[0],
    clipMax: pickNum(ifmr, 'clipMax', 'clip_max') ?? clip?.[1],
    scale: pickNum(ifmr, 'scale', 'scaleD', 'scale_d') ?? pickNum(entry, 'scale', 'scaleD', 'scale_d'),
    offset: pickNum(ifmr, 'offset', 'offsetD', 'offset_d') ?? pickNum(entry, 'offset', 'offsetD', 'offset_d'),
    candidates: pickArr(ifmr, 'candidates', 'ratios'),
    losses: pickArr(ifmr, 'losses', 'loss', 'ifmrLosses'),
    bestIndex: pickNum(ifmr, 'bestIndex', 'best_index'),
  };
  for (const k of Object.keys(out) as (keyof LayerActivationStats)[]) if (out[k] === undefined) delete out[k];
  return out;
}

/** layer name → its statistics. */
export function parseStats(json: unknown, file = 'stats file'): Map<string, LayerActivationStats> {
  if (!isObj(json)) throw new QtuneError('analyze_stats', `${file}: expected a JSON object`, { file });
  const layers = json.layers ?? json;
  const out = new Map<string, LayerActivationStats>();
  if (Array.isArray(layers)) {
    for (const e of layers) if (isObj(e) && typeof (e.name ?? e.layer) === 'string') out.set(String(e.name ?? e.layer), normaliseLayerStats(e));
  } else if (isObj(layers)) {
    for (const [name, e] of Object.entries(layers)) if (isObj(e)) out.set(name, normaliseLayerStats(e));
  }
  return out;
}

export async function readStatsFile(path: string): Promise<Map<string, LayerActivationStats>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new QtuneError('file_not_found', `${path}: cannot read the stats file`, { file: path });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new QtuneError('analyze_stats', `${path} is not valid JSON: ${(e as Error).message}`, { file: path });
  }
  return parseStats(json, path);
}
