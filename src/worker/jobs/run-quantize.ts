// One turn of the tuning loop: quantize with a saved config, then measure the
// float and the int8 model on the evaluation data and judge the drop.

import { basename } from 'node:path';
import { runDeployChecks } from '../../engine/deploy/run-checks';
import { comparePredictions } from '../../engine/eval/compare';
import { createSession, evaluateModel } from '../../engine/eval/evaluate';
import { judgeTarget } from '../../engine/eval/target';
import { quantizeModel } from '../../engine/quant/quantize';
import { openDataFor } from '../../engine/runtime/open-data';
import type { EvalResult } from '../../shared/eval-types';
import type { RunResult } from '../../shared/run-types';
import type { JobHandler } from './index';

/** How many flipped samples the run keeps (the worst ones): enough to browse, not the whole set. */
const MAX_FLIPS = 200;

export const runQuantizeJob: JobHandler<'run.quantize'> = async (p, ctx) => {
  const started = Date.now();
  const quant = await quantizeModel({
    modelPath: p.modelPath,
    config: p.configPath,
    dataset: { data: p.calibrationData },
    outDir: p.outDir,
    name: 'model',
    batchSize: p.calibrationBatchSize,
    signal: ctx.signal,
    onProgress: (q) => ctx.progress(q.stage === 'calibrate' && q.passes && q.passes > 1 ? `calibrate (pass ${q.pass}/${q.passes})` : q.stage, q.done, q.total, q.layer),
  });

  const evaluate = async (modelPath: string, stage: string, reference?: string): Promise<EvalResult> => {
    ctx.throwIfCancelled();
    const session = await createSession(modelPath);
    try {
      const dataset = await openDataFor(session, p.evaluationData, p.labels);
      return await evaluateModel({
        session,
        dataset,
        batchSize: p.evaluationBatchSize,
        metric: p.metric,
        reference: reference ? { modelPath: reference } : undefined,
        trusted: p.trustedEvaluator,
        signal: ctx.signal,
        onProgress: (e) => ctx.progress(stage, e.done, e.total),
      });
    } finally {
      await session.release();
    }
  };

  // Fidelity compares the int8 model with the float one; the float model agrees with itself.
  const fidelity = p.metric === 'fidelity';
  const floatResult = await evaluate(p.modelPath, 'evaluate float', fidelity ? p.modelPath : undefined);
  const quantResult = await evaluate(quant.files.quantModel, 'evaluate int8', fidelity ? p.modelPath : undefined);
  const judgement = judgeTarget(floatResult.value, quantResult.value, p.target);
  const deploy = await deployChecks(quant.files.quantModel, p.modelPath, p.evaluationData, p.labels, p.evaluationBatchSize, ctx);
  // A custom evaluator gives one number, not per-sample predictions: no flips to list then.
  const flips = floatResult.perSample && quantResult.perSample ? comparePredictions(floatResult, quantResult) : [];
  const result: RunResult = {
    runId: p.runId,
    configId: p.configId,
    float: floatResult,
    quant: quantResult,
    judgement,
    flips: flips.slice(0, MAX_FLIPS),
    flipCounts: {
      total: flips.length,
      broke: flips.filter((f) => f.kind === 'broke').length,
      fixed: flips.filter((f) => f.kind === 'fixed').length,
    },
    layers: quant.layers.map((l) => ({ name: l.name, opType: l.opType, enabled: l.enabled })),
    artifacts: {
      quantModel: basename(quant.files.quantModel),
      fusedFloatModel: basename(quant.files.fusedFloatModel),
      record: basename(quant.files.record),
      config: basename(quant.files.config),
      stats: basename(quant.files.stats),
    },
    durationMs: Date.now() - started,
    notes: [...quant.notes, ...floatResult.notes.map((n) => `evaluation: ${n}`), ...deploy.notes],
    ...(deploy.parity ? { parity: deploy.parity } : {}),
    ...(deploy.latency ? { latency: deploy.latency } : {}),
    ...(deploy.layerTimes ? { layerTimes: deploy.layerTimes } : {}),
  };
  return result;
};

/** Runtime parity and latency of the exported model, on the evaluation data. */
async function deployChecks(quantModel: string, floatModel: string, data: string, labels: string | undefined, batchSize: number, ctx: Parameters<JobHandler<'run.quantize'>>[1]) {
  ctx.throwIfCancelled();
  const session = await createSession(quantModel);
  try {
    const dataset = await openDataFor(session, data, labels);
    return await runDeployChecks({
      quantModel, floatModel, dataset, evaluationBatchSize: batchSize, signal: ctx.signal,
      onProgress: (stage, done, total) => ctx.progress(stage, done, total),
    });
  } finally {
    await session.release();
  }
}
