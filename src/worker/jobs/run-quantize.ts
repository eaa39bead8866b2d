// One turn of the tuning loop for a project run: the engine's pipeline with
// the run's saved config, its artifacts written into the run's folder, then
// the deployment checks (runtime parity, latency, per-layer time) that a
// project run shows and a tuning trial skips.

import { runDeployChecks } from '../../engine/deploy/run-checks';
import { runTrial } from '../../engine/pipeline/trial';
import { openDataFor } from '../../engine/data/for-model';
import { createSession } from '../../engine/onnx';
import type { RunResult } from '../../shared/run-types';
import type { JobHandler } from './handler';
import { evaluationSetupOf } from './project-trial';

export const runQuantizeJob: JobHandler<'run.quantize'> = async (p, ctx) => {
  const { run, quantization } = await runTrial({
    modelPath: p.modelPath,
    config: p.configPath,
    calibration: { data: p.calibrationData },
    calibrationBatchSize: p.calibrationBatchSize,
    evaluation: evaluationSetupOf(p),
    outDir: p.outDir,
    signal: ctx.signal,
    onProgress: (stage, done, total, message, pass) => ctx.progress(stage, done, total, message, pass),
  });
  const deploy = await deployChecks(quantization.files.quantModel, p.modelPath, p.evaluationData, p.labels, p.evaluationBatchSize, ctx);
  const result: RunResult = {
    runId: p.runId,
    configId: p.configId,
    ...run,
    notes: [...run.notes, ...deploy.notes],
    ...(deploy.parity ? { parity: deploy.parity } : {}),
    ...(deploy.latency ? { latency: deploy.latency } : {}),
    ...(deploy.layerTimes ? { layerTimes: deploy.layerTimes } : {}),
  };
  return result;
};

async function deployChecks(quantModel: string, floatModel: string, data: string, labels: string | undefined, batchSize: number, ctx: Parameters<JobHandler<'run.quantize'>>[1]) {
  ctx.throwIfCancelled();
  const session = await createSession(quantModel, { forComparison: false });
  try {
    const dataset = await openDataFor(session, { data, labels });
    return await runDeployChecks({
      quantModel, floatModel, dataset, evaluationBatchSize: batchSize, signal: ctx.signal,
      onProgress: (stage, done, total) => ctx.progress(stage, done, total),
    });
  } finally {
    await session.release();
  }
}
