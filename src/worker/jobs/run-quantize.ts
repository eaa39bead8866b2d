// One turn of the tuning loop for a project run: the engine's pipeline with
// the run's saved config, its artifacts written into the run's folder.

import { runTrial } from '../../engine/pipeline/trial';
import type { RunResult } from '../../shared/run-types';
import type { JobHandler } from './index';

export const runQuantizeJob: JobHandler<'run.quantize'> = async (p, ctx) => {
  const { run } = await runTrial({
    modelPath: p.modelPath,
    config: p.configPath,
    calibration: { data: p.calibrationData },
    calibrationBatchSize: p.calibrationBatchSize,
    evaluation: {
      data: p.evaluationData,
      labels: p.labels,
      metric: p.metric,
      trusted: p.trustedEvaluator,
      batchSize: p.evaluationBatchSize,
      target: p.target,
    },
    outDir: p.outDir,
    signal: ctx.signal,
    onProgress: (stage, done, total, message) => ctx.progress(stage, done, total, message),
  });
  const result: RunResult = { runId: p.runId, configId: p.configId, ...run };
  return result;
};
