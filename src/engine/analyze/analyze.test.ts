import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, makeNode, makeValueInfo, saveModel, DT, OnnxModel } from '../onnx';
import { analyzeModels } from './analyze';
import { parseReportJson, writeReports } from './report';
import { activationRanges, makeTestQdqModel, npyFeed } from './testing';

const MODEL = join(process.cwd(), 'test/fixtures/models/lenet_mnist.onnx');
const DATA = join(process.cwd(), 'test/fixtures/data/mnist/calib_x.npy');
const BAD = '/classifier/fc1/Gemm';

let dir: string;
let quantPath: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qtune-analyze-'));
  const float = loadModel(MODEL);
  const ranges = await activationRanges(float, { input: npyFeed(DATA, 64) });
  // one layer deliberately clipped hard: the analyzer must find it
  const quant = makeTestQdqModel(float, ranges, { scaleFactor: { [BAD]: 0.08 } });
  quantPath = join(dir, 'lenet_quant_model.onnx');
  saveModel(quant, quantPath);
});

describe('analyzeModels end to end', () => {
  it('ranks the damaged layer first and writes the three reports', async () => {
    const stages = new Set<string>();
    const stats = join(dir, 'stats.json');
    // the layout quantize writes (QuantStatsFile), with the fields the analyzer shows
    writeFileSync(stats, JSON.stringify({ version: 1, model: MODEL, batchNum: 1, batchSize: 16, samples: 16, layers: [{ name: BAD, histogram: { min: 0, max: 7, counts: [5, 3, 1] }, maxInit: 6.9, minInit: 0, clipMin: -0.5, clipMax: 0.5, losses: [3, 2, 1], candidates: [0.7, 0.71, 0.72] }] }));
    const report = await analyzeModels({
      floatModel: MODEL, quantModel: quantPath, dataset: DATA, samples: 16, statsPath: stats,
      outputSensitivity: { maxLayers: 3 },
      onProgress: (p) => stages.add(p.stage),
    });
    expect(report.samples).toBe(16);
    expect(report.sampleIndices).toEqual([...Array(16).keys()]);
    expect([...stages]).toEqual(expect.arrayContaining(['load', 'accumulated', 'isolated', 'weights', 'output-sensitivity', 'suggest']));
    expect(report.suggestions[0].layer).toBe(BAD);
    expect(report.suggestions[0].reasons.map((r) => r.kind)).toEqual(expect.arrayContaining(['isolated-sensitivity', 'accumulated-drop', 'output-gain']));
    const bad = report.layers.find((l) => l.name === BAD)!;
    expect(bad.isolated!.sensitivity).toBeLessThan(0.995);
    expect(bad.output!.gainIfSkipped!).toBeGreaterThan(0);
    expect(bad.activation).toMatchObject({ clipMin: -0.5, clipMax: 0.5, losses: [3, 2, 1], histogram: { counts: [5, 3, 1] } });
    // every other quantized layer is far less sensitive in isolation
    for (const l of report.layers) if (l.name !== BAD) expect(l.isolated!.sensitivity).toBeGreaterThan(bad.isolated!.sensitivity);
    const first = report.layers[0];
    expect(first.isInputLayer).toBe(true);
    expect(report.layers.at(-1)!.isOutputLayer).toBe(true);
    // channel-wise Conv weights: per-channel errors and ranges per output channel
    expect(first.weight!.perChannel!.length).toBe(first.weight!.shape[0]);
    expect(first.weight!.channelRanges.min.length).toBe(first.weight!.shape[0]);
    expect(first.weight!.cosine).toBeGreaterThan(0.999);
    expect(report.outputs[0].name).toBe('logits');

    const files = await writeReports(report, join(dir, 'out'));
    const back = parseReportJson(readFileSync(files.json, 'utf8'));
    expect(back.tensors.length).toBe(report.tensors.length);
    expect(back.suggestions).toEqual(report.suggestions);
    const csv = readFileSync(files.csv, 'utf8').split('\n');
    expect(csv[0].startsWith('Index,OpType,TensorName,Shape,CosineSimilarity,MaxAbsoluteError')).toBe(true);
    expect(csv.length).toBe(report.tensors.length + 2);
    const html = readFileSync(files.html, 'utf8');
    expect(html).toContain(BAD);
    expect(html).not.toMatch(/(src|href)=["']?https?:/);
  });

  it('a well quantized model: the report says its output is already close to float', async () => {
    const float = loadModel(MODEL);
    const ranges = await activationRanges(float, { input: npyFeed(DATA, 64) });
    const good = join(dir, 'good_quant_model.onnx');
    saveModel(makeTestQdqModel(float, ranges), good);
    const report = await analyzeModels({ floatModel: MODEL, quantModel: good, dataset: DATA, samples: 8 });
    expect(report.outputs[0].cosine).toBeGreaterThan(0.99);
    expect(report.warnings.map((w) => w.code)).toContain('output_close');
    expect(report.suggestions.every((s) => s.reasons.every((r) => r.kind !== 'isolated-sensitivity'))).toBe(true);
  });

  it('models without tensor names in common: a clear error', async () => {
    const a = tinyModel('x', 'y1');
    const b = tinyModel('x', 'y2');
    await expect(analyzeModels({ floatModel: a, quantModel: b, dataset: DATA })).rejects.toThrow(/no tensor names in common/);
  });

  it('models with different inputs: a clear error', async () => {
    await expect(analyzeModels({ floatModel: tinyModel('x', 'y'), quantModel: tinyModel('z', 'y'), dataset: DATA })).rejects.toThrow(/different inputs/);
  });

  it('a quantized model that is not a QDQ model: a warning, and identical tensors', async () => {
    const report = await analyzeModels({ floatModel: MODEL, quantModel: MODEL, dataset: DATA, samples: 4 });
    expect(report.warnings.map((w) => w.code)).toContain('not_qdq');
    expect(report.tensors.every((t) => t.metrics.CosineSimilarity.mean === 1)).toBe(true);
    expect(report.suggestions.every((s) => s.reasons.every((r) => ['input-layer', 'output-layer', 'few-parameters'].includes(r.kind)))).toBe(true);
  });
});

/** input [N,1,28,28] → Relu → output named `out` */
function tinyModel(input: string, out: string): OnnxModel {
  return new OnnxModel({
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }], metadataProps: [], trainingInfo: [], functions: [],
    graph: {
      name: 'tiny', node: [makeNode('Relu', [input], [out], { name: 'relu' })], initializer: [],
      input: [makeValueInfo(input, DT.FLOAT, ['N', 1, 28, 28])], output: [makeValueInfo(out, DT.FLOAT, ['N', 1, 28, 28])],
      valueInfo: [], sparseInitializer: [], quantizationAnnotation: [],
    },
  });
}
