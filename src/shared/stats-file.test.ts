import { describe, expect, it } from 'vitest';
import type { LayerQuantStats, QuantStatsFile } from './quant-types';
import { activationStatsByLayer, parseStatsFile, STATS_FILE_VERSION } from './stats-file';

const layer: LayerQuantStats = {
  name: 'conv1', opType: 'Conv', inputTensor: 'x', outputTensor: 'y', count: 100, min: -1, max: 3,
  histogram: { min: -1, max: 3, counts: [1, 2, 3, 4] }, maxInit: 2.9, minInit: -0.9,
  candidates: [0.7, 0.8, 0.9], losses: [0.3, 0.1, 0.2], bestIndex: 1, clipMin: -2.32, clipMax: 2.32,
  scale: 0.0183, offset: 0, asymmetric: false, approximate: false, weightScales: [0.1], weightOffsets: [0], weightAxis: null, channelWise: false,
};
const file: QuantStatsFile = { version: 1, model: 'm.onnx', batchNum: 1, batchSize: 8, samples: 8, layers: [layer] };

describe('stats file reader', () => {
  it('reads what quantize writes (version 1, every stats file qtune has written) and picks what the analyzer shows', () => {
    expect(STATS_FILE_VERSION).toBe(1);
    const read = parseStatsFile(JSON.parse(JSON.stringify(file)), 'm_stats.json');
    expect(read).toEqual(file);
    expect(activationStatsByLayer(read).get('conv1')).toEqual({
      histogram: { min: -1, max: 3, counts: [1, 2, 3, 4] }, min: -1, max: 3, maxInit: 2.9, minInit: -0.9,
      clipMin: -2.32, clipMax: 2.32, scale: 0.0183, offset: 0, candidates: [0.7, 0.8, 0.9], losses: [0.3, 0.1, 0.2], bestIndex: 1,
    });
  });
  it('refuses, naming the file: a newer version, no version, layers that are not a list, a bad histogram', () => {
    expect(() => parseStatsFile({ ...file, version: 2 }, 's.json')).toThrow(/s\.json was written by a newer qtune \(statistics version 2; this one reads up to 1\)/);
    expect(() => parseStatsFile({ layers: [] }, 's.json')).toThrow(/s\.json is not a qtune statistics file: no schema version/);
    expect(() => parseStatsFile({ version: 1, layers: { conv1: layer } }, 's.json')).toThrow(/"layers" must be a list/);
    expect(() => parseStatsFile({ version: 1, layers: [{ ...layer, histogram: [1, 2] }] }, 's.json')).toThrow(/layers\[0\]\.histogram/);
    expect(() => parseStatsFile([], 's.json')).toThrow(/expected a JSON object/);
  });
});
