// The flags `qtune run` and `qtune tune` share: the model, calibration and
// evaluation data (with calibrate's and evaluate's preprocessing flags), the
// metric and the accuracy target; and what the engine's pipeline makes of them.

import { Option, type Command } from 'commander';
import type { EvaluationSetup } from '../engine/pipeline/trial';
import type { DataForm } from '../engine/data/for-model';
import { DEFAULT_SIMILARITY_THRESHOLD, isSimilarityMetric, type AccuracyTarget, type MetricSpec } from '../shared/eval-types';
import { stageLabel } from '../shared/api';
import { QtuneError } from '../shared/errors';
import { metricSpec } from './commands/evaluate';
import { addPreprocessOptions, preprocessFromFlags, sizePolicyFromFlag, type DataFlags } from './data-options';

export interface TrialFlags extends Omit<DataFlags, 'data'> {
  model: string;
  calib: string;
  eval: string;
  metric: string;
  threshold?: string;
  maxDrop: string;
  dropType: 'absolute' | 'relative';
  batchSize: string;
  evalBatchSize: string;
  out: string;
  json?: boolean;
}

export function addTrialOptions(cmd: Command): Command {
  cmd
    .requiredOption('--model <model.onnx>', 'the float model')
    .requiredOption('--calib <path>', 'calibration data: a .npy (N samples first), .npz[:key], image folder, folder of .bin batches, or a dataset manifest .json')
    .requiredOption('--eval <path>', 'evaluation data, in the same forms')
    .option('--labels <path>', 'evaluation labels: .npy, .npz[:key], .csv (file,label), .txt, or "folders"')
    .addOption(new Option('--metric <metric>', 'top1 | top5 | fidelity | custom:path.js, or cosine | sqnr | mse: every output against the float model, no labels needed').default('top1'))
    .option('--threshold <x>', 'with --metric cosine|sqnr|mse, the target: cosine at least x (default 0.99), SQNR at least x dB (default 30), MSE at most x (no default: it depends on your outputs\' scale)')
    .option('--max-drop <n>', 'the accuracy drop you accept', '1')
    .addOption(new Option('--drop-type <type>', 'absolute: points; relative: percent of the float accuracy').choices(['absolute', 'relative']).default('absolute'))
    .option('--batch-size <n>', 'samples per calibration batch', '32')
    .option('--eval-batch-size <n>', 'samples per evaluation batch', '100')
    .requiredOption('--out <dir>', 'output folder')
    .option('--json', 'print the result as JSON');
  return addPreprocessOptions(cmd);
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new QtuneError('cli_invalid', `--${flag} wants a positive integer, got "${v}"`);
  return n;
}

/** The target the flags ask for: a similarity threshold with --metric cosine|sqnr|mse, else the tolerated drop. */
export function targetFromFlags(metric: MetricSpec, flags: Pick<TrialFlags, 'threshold' | 'maxDrop' | 'dropType'> & { metric?: string }): AccuracyTarget {
  if (isSimilarityMetric(metric)) {
    if (flags.threshold === undefined && metric === 'mse') {
      throw new QtuneError('cli_invalid', '--metric mse needs --threshold <x> (the largest MSE you accept; it depends on the scale of your outputs)');
    }
    const threshold = flags.threshold === undefined ? DEFAULT_SIMILARITY_THRESHOLD[metric] : Number(flags.threshold);
    if (!Number.isFinite(threshold) || (metric !== 'sqnr' && threshold < 0) || (metric === 'cosine' && threshold > 1)) {
      throw new QtuneError('cli_invalid', `--threshold wants ${metric === 'cosine' ? 'a cosine between 0 and 1' : metric === 'sqnr' ? 'a number of dB' : 'a number >= 0'}, got "${flags.threshold}"`);
    }
    return { mode: 'similarity', metric, threshold };
  }
  if (flags.threshold !== undefined) throw new QtuneError('cli_invalid', `--threshold goes with --metric cosine, sqnr or mse; for --metric ${flags.metric ?? metric} the target is --max-drop`);
  const drop = Number(flags.maxDrop);
  if (!Number.isFinite(drop) || drop < 0) throw new QtuneError('cli_invalid', `--max-drop wants a number >= 0, got "${flags.maxDrop}"`);
  return flags.dropType === 'relative' ? { mode: 'relative', percent: drop } : { mode: 'absolute', points: drop };
}

export function trialSetup(flags: TrialFlags): { calibration: DataForm; calibrationBatchSize: number; evaluation: EvaluationSetup } {
  const metric = metricSpec(flags.metric);
  const target = targetFromFlags(metric, flags);
  if (metric === 'classification' && !flags.labels) throw new QtuneError('cli_invalid', `--metric ${flags.metric} needs --labels (or use --metric fidelity)`);
  const preprocess = preprocessFromFlags({ ...flags, data: flags.calib });
  const sizes = flags.sizes ? sizePolicyFromFlag(flags.sizes) : undefined;
  return {
    calibration: { data: flags.calib, preprocess, sizes, skipBadImages: flags.skipBadImages },
    calibrationBatchSize: positiveInt('batch-size', flags.batchSize),
    evaluation: {
      data: flags.eval,
      labels: flags.labels,
      preprocess,
      sizes,
      skipBadImages: flags.skipBadImages,
      metric,
      // the user named this module on the command line: that is their choice to run it
      trusted: true,
      batchSize: positiveInt('eval-batch-size', flags.evalBatchSize),
      target,
    },
  };
}

/** A progress callback for the pipeline that ends the bar whenever the stage changes. */
export function stagePrinter(bar: { update(stage: string, done: number, total: number): void; end(): void }) {
  let stage = '';
  return (stageName: string, done: number, total: number, _message?: string, pass?: { pass: number; passes: number }) => {
    const s = stageLabel({ stage: stageName, ...pass });
    if (s !== stage && stage) bar.end();
    stage = s;
    bar.update(s, done, total);
  };
}
