import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LayerQuantStats, QuantStatsFile } from '../../shared/quant-types';
import { readStatsFile } from './stats';

const layer: LayerQuantStats = {
  name: 'conv1', opType: 'Conv', inputTensor: 'x', outputTensor: 'y', count: 100, min: -1, max: 3,
  histogram: { min: -1, max: 3, counts: [1, 2, 3, 4] }, maxInit: 2.9, minInit: -0.9,
  candidates: [0.7, 0.8, 0.9], losses: [0.3, 0.1, 0.2], bestIndex: 1, clipMin: -2.32, clipMax: 2.32,
  scale: 0.0183, offset: 0, asymmetric: false, approximate: false, weightScales: [0.1], weightOffsets: [0], weightAxis: null, channelWise: false,
};

describe('stats file', () => {
  it('reads the quantization run\'s <name>_stats.json layout', async () => {
    const file: QuantStatsFile = { version: 1, model: 'm.onnx', batchNum: 1, batchSize: 8, samples: 8, layers: [layer] };
    const path = join(mkdtempSync(join(tmpdir(), 'qtune-stats-')), 'm_stats.json');
    writeFileSync(path, JSON.stringify(file));
    const s = (await readStatsFile(path)).get('conv1')!;
    expect(s).toEqual({
      histogram: { min: -1, max: 3, counts: [1, 2, 3, 4] }, min: -1, max: 3, maxInit: 2.9, minInit: -0.9,
      clipMin: -2.32, clipMax: 2.32, scale: 0.0183, offset: 0, candidates: [0.7, 0.8, 0.9], losses: [0.3, 0.1, 0.2], bestIndex: 1,
    });
  });
  it('reads only what the writer writes: a guessed spelling of a field is not read', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'qtune-stats-')), 'm_stats.json');
    writeFileSync(path, JSON.stringify({ layers: { fc: { hist: [1, 2], hist_min: 0, hist_max: 1 } } }));
    await expect(readStatsFile(path)).rejects.toThrow(/m_stats\.json is not a qtune statistics file: no schema version/);
  });
  it('a file that is not JSON is a clear error naming it', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'qtune-stats-')), 'bad.json');
    writeFileSync(path, '{ nope');
    await expect(readStatsFile(path)).rejects.toThrow(/bad\.json is not valid JSON/);
    await expect(readStatsFile(path + '.missing')).rejects.toThrow(/cannot read the stats file/);
  });
});
