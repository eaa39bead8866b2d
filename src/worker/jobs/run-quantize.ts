// One turn of the tuning loop for a project run: the engine's pipeline with
// the run's saved config, its artifacts written into the run's folder.

import { runTrial } from '../../engine/pipeline/trial';
import type { RunResult } from '../../shared/run-types';
import type { JobHandler } from './index';
import { evaluationSetupOf } from './project-trial';

export const runQuantizeJob: JobHandler<'run.quantize'> = async (p, ctx) => {
  const { run } = await runTrial({
    modelPath: p.modelPath,
    config: p.configPath,
    calibration: { data: p.calibrationData },
    calibrationBatchSize: p.calibrationBatchSize,
    evaluation: evaluationSetupOf(p),
    outDir: p.outDir,
    signal: ctx.signal,
    onProgress: (stage, done, total, message) => ctx.progress(stage, done, total, message),
  });
  const result: RunResult = { runId: p.runId, configId: p.configId, ...run };
  return result;
};
