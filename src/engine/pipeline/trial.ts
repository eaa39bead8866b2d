// One turn of the tuning loop, the same for the app's runs, `qtune run` and
// the tuner: quantize with a config, evaluate the float and the int8 model on
// the evaluation data, judge the drop against the target, list the flips.

import { basename } from 'node:path';
import type { ImagePreprocess, SizePolicy } from '../../shared/dataset-schema';
import { measuredMetric, SIMILARITY_METRICS, type AccuracyTarget, type EvalResult, type MetricSpec } from '../../shared/eval-types';
import { throwIfAborted } from '../../shared/errors';
import type { QuantizeResult } from '../../shared/quant-types';
import type { RunResult } from '../../shared/run-types';
import type { Dataset } from '../data/dataset';
import { comparePredictions } from '../eval/compare';
import { evaluateModel } from '../eval/evaluate';
import { createSession } from '../onnx';
import { judgeTarget } from '../eval/target';
import { quantizeModel, type QuantizeOptions } from '../quant/quantize';
import { openDataFor, type DataForm } from '../data/for-model';

/** How many flipped samples a run keeps (the closest calls): enough to browse, not the whole set. */
export const MAX_FLIPS = 200;

/** Progress as jobs and the CLI show it: a stage, done/total, and an optional detail. */
export type PipelineProgress = (stage: string, done: number, total: number, message?: string, pass?: { pass: number; passes: number }) => void;

/** How accuracy is measured and judged: the same for every trial of a session. */
export interface EvaluationSetup {
  data: string;
  labels?: string;
  preprocess?: ImagePreprocess;
  /** images of different sizes: the policy calibration used too */
  sizes?: SizePolicy;
  skipBadImages?: boolean;
  /** what is measured; a similarity target measures its own metric instead (measuredMetric) */
  metric: MetricSpec;
  /** a custom metric module runs user code: the caller must have asked the user */
  trusted?: boolean;
  batchSize: number;
  target: AccuracyTarget;
}

export interface TrialOptions {
  modelPath: string;
  /** a config.json path, its parsed JSON, or a QuantConfig */
  config: QuantizeOptions['config'];
  /** calibration data: an opened dataset (kept across trials) or where it is */
  calibration: Dataset | DataForm;
  calibrationBatchSize: number;
  evaluation: EvaluationSetup;
  /** every artifact is written here */
  outDir: string;
  /** file name prefix of the artifacts (default "model") */
  name?: string;
  /** the float model's result from an earlier trial: the float model is not evaluated again */
  floatResult?: EvalResult;
  /** a calibrate() stand-in, e.g. CalibrationCache.calibrate */
  calibrator?: QuantizeOptions['calibrator'];
  signal?: AbortSignal;
  onProgress?: PipelineProgress;
}

/** A run's result without the project's ids, plus what quantization reported. */
export interface TrialResult {
  run: Omit<RunResult, 'runId' | 'configId'>;
  quantization: QuantizeResult;
}

/** Evaluate one model as the setup says; fidelity compares against `floatModel`. */
export async function evaluateWith(
  modelPath: string,
  floatModel: string,
  setup: EvaluationSetup,
  stage: string,
  opts: { signal?: AbortSignal; onProgress?: PipelineProgress } = {},
): Promise<EvalResult> {
  throwIfAborted(opts.signal);
  const session = await createSession(modelPath, { forComparison: false });
  try {
    const dataset = await openDataFor(session, { data: setup.data, labels: setup.labels, preprocess: setup.preprocess, sizes: setup.sizes, skipBadImages: setup.skipBadImages });
    const metric = measuredMetric(setup.metric, setup.target);
    const compares = metric === 'fidelity' || (SIMILARITY_METRICS as readonly string[]).includes(metric);
    return await evaluateModel({
      session,
      modelPath,
      dataset,
      batchSize: setup.batchSize,
      metric,
      // fidelity and similarity compare the int8 model with the float one; the float model, compared with
      // itself, runs once per batch (its own outputs are the reference)
      reference: compares ? (modelPath === floatModel ? { session, modelPath } : { modelPath: floatModel }) : undefined,
      trusted: setup.trusted,
      signal: opts.signal,
      onProgress: (e) => opts.onProgress?.(stage, e.done, e.total),
    });
  } finally {
    await session.release();
  }
}

export async function runTrial(opts: TrialOptions): Promise<TrialResult> {
  const started = Date.now();
  const progress = opts.onProgress;
  const quant = await quantizeModel({
    modelPath: opts.modelPath,
    config: opts.config,
    dataset: opts.calibration,
    outDir: opts.outDir,
    name: opts.name ?? 'model',
    batchSize: opts.calibrationBatchSize,
    calibrator: opts.calibrator,
    signal: opts.signal,
    onProgress: (q) => progress?.(q.stage, q.done, q.total, q.layer, q.stage === 'calibrate' && q.pass !== undefined && q.passes && q.passes > 1 ? { pass: q.pass, passes: q.passes } : undefined),
  });
  const io = { signal: opts.signal, onProgress: progress };
  const floatResult = opts.floatResult ?? (await evaluateWith(opts.modelPath, opts.modelPath, opts.evaluation, 'evaluate float', io));
  const quantResult = await evaluateWith(quant.files.quantModel, opts.modelPath, opts.evaluation, 'evaluate int8', io);
  const judgement = judgeTarget(floatResult.value, quantResult.value, opts.evaluation.target);
  // A custom evaluator gives one number, not per-sample predictions: no flips to list then.
  const flips = floatResult.perSample && quantResult.perSample ? comparePredictions(floatResult, quantResult) : [];
  return {
    quantization: quant,
    run: {
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
      ...(quant.uint8Weights ? { uint8Weights: quant.uint8Weights } : {}),
      notes: [...quant.notes, ...floatResult.notes.map((n) => `evaluation: ${n}`)],
    },
  };
}
