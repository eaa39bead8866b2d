import { describe, expect, it } from 'vitest';
import { ANALYSIS_REPORT_VERSION, decodeAnalysisReport, encodeAnalysisReport, migrateAnalysisReport, parseAnalysisReport } from './analysis-file';
import { ANALYSIS_WARNING_CODES, DEFAULT_THRESHOLDS, type AnalysisReport } from './analysis-types';

const report: AnalysisReport = {
  version: 2, createdAt: '2026-11-29T00:00:00Z', floatModel: 'f.onnx', quantModel: 'q.onnx', referenceModel: 'f.onnx', samples: 2, sampleIndices: [0, 1],
  thresholds: DEFAULT_THRESHOLDS, tensors: [], onlyInFloat: [], onlyInQuant: [], notCompared: [], layers: [],
  outputs: [{ name: 'y', cosine: NaN, sqnrDb: Infinity }], suggestions: [], warnings: [{ code: 'few_samples', message: 'few' }], timings: {},
};

describe('analysis.json', () => {
  it('round-trips NaN and ±Infinity through the file (written as strings)', () => {
    const text = encodeAnalysisReport(report);
    expect(text).toContain('"Infinity"');
    const back = parseAnalysisReport(text, 'a.json');
    expect(back.outputs[0].cosine).toBeNaN();
    expect(back.outputs[0].sqnrDb).toBe(Infinity);
    expect(back).toEqual(report);
  });
  it('migrates a version 1 report: its kebab-case warning codes become the snake_case ones', () => {
    const v1 = { ...JSON.parse(encodeAnalysisReport(report)), version: 1, warnings: [{ code: 'few-samples', message: 'few' }, { code: 'output-close', message: 'close' }] };
    const migrated = migrateAnalysisReport(v1, 'a.json');
    expect(migrated.version).toBe(ANALYSIS_REPORT_VERSION);
    expect(migrated.warnings.map((w) => w.code)).toEqual(['few_samples', 'output_close']);
    for (const w of migrated.warnings) expect(ANALYSIS_WARNING_CODES).toContain(w.code);
    expect(decodeAnalysisReport(migrated).outputs[0].sqnrDb).toBe(Infinity);
  });
  it('refuses a report from a newer qtune, one without a version, and damaged JSON, naming the file', () => {
    expect(() => migrateAnalysisReport({ ...report, version: 3 }, 'a.json')).toThrow(/a\.json was written by a newer qtune \(report version 3; this one reads up to 2\)/);
    expect(() => migrateAnalysisReport({ layers: [] }, 'a.json')).toThrow(/a\.json is not a qtune analysis report: no schema version/);
    expect(() => parseAnalysisReport('{"layers": [', 'a.json')).toThrow(/a\.json is not valid JSON/);
  });
});
