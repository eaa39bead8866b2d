// Per-layer activation statistics from the quantization run's stats file
// (<name>_stats.json): the float histogram of each layer input, the
// percentile initial clip values, the IFMR loss curve and the chosen clip
// range. The file's layout and its one reader are in src/shared/stats-file.ts.
import { readFile } from 'node:fs/promises';
import { QtuneError } from '../../shared/errors';
import type { LayerActivationStats } from '../../shared/analysis-types';
import { activationStatsByLayer, parseStatsFile } from '../../shared/stats-file';

/** layer name → its statistics, from the stats file at `path`. */
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
  return activationStatsByLayer(parseStatsFile(json, path));
}
