import { describe, expect, it } from 'vitest';
import type { AnalysisReport } from '../../shared/analysis-types';
import { metricHigherIsBetter } from './colour-scale';
import { layerMetricGrid } from './layer-metrics';

const report = { layers: [{ name: 'a', accumulatedCosine: 0.99 }, { name: 'b', accumulatedCosine: 0.5 }] } as unknown as AnalysisReport;

describe('layerMetricGrid', () => {
  it("adds each layer's float and int8 time when the run was profiled (slower is worse)", () => {
    expect(layerMetricGrid(report).columns.map((c) => c.key)).toEqual(['accumulatedCosine']);
    const g = layerMetricGrid(report, { batchSize: 32, float: { a: 2, b: 1 }, int8: { a: 0.5 } });
    expect(g.columns.map((c) => c.key)).toEqual(['accumulatedCosine', 'floatMs', 'int8Ms']);
    expect(g.values[0]).toEqual([0.99, 2, 0.5]);
    expect(g.values[1][2]).toBeNaN();
    expect(metricHigherIsBetter('TimeMs')).toBe(false);
  });
});
