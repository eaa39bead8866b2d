// The accuracy analyzer on a finished run: the per-layer report (JSON, CSV,
// HTML) is written into the run's folder, and returned.

import { analyzeModels } from '../../engine/analyze/analyze';
import { writeReports } from '../../engine/analyze/report';
import type { JobHandler } from './handler';

export const runAnalyzeJob: JobHandler<'run.analyze'> = async (p, ctx) => {
  const report = await analyzeModels({
    floatModel: p.floatModel,
    quantModel: p.quantModel,
    dataset: p.data,
    samples: p.samples,
    statsPath: p.statsPath,
    signal: ctx.signal,
    onProgress: (a) => ctx.progress(a.stage, a.done, a.total),
  });
  await writeReports(report, p.outDir);
  return report;
};
