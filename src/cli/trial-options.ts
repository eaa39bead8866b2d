// The flags `qtune run` and `qtune tune` share: the model, calibration and
// evaluation data (with calibrate's and evaluate's preprocessing flags), the
// metric and the accuracy target; and what the engine's pipeline makes of them.

import { Option, type Command } from 'commander';
import type { EvaluationSetup } from '../engine/pipeline/trial';
import type { DataForm } from '../engine/data/for-model';
import type { AccuracyTarget } from '../shared/eval-types';
import { stageLabel } from '../shared/api';
import { QtuneError } from '../shared/errors';
import { metricSpec } from './commands/evaluate';
import { addPreprocessOptions, preprocessFromFlags, type DataFlags } from './data-options';

export interface TrialFlags extends Omit<DataFlags, 'data'> {
  model: string;
  calib: string;
  eval: string;
  metric: string;
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
    .addOption(new Option('--metric <metric>', 'top1 | top5 | fidelity | custom:path.js').default('top1'))
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

export function trialSetup(flags: TrialFlags): { calibration: DataForm; calibrationBatchSize: number; evaluation: EvaluationSetup } {
  const drop = Number(flags.maxDrop);
  if (!Number.isFinite(drop) || drop < 0) throw new QtuneError('cli_invalid', `--max-drop wants a number >= 0, got "${flags.maxDrop}"`);
  const target: AccuracyTarget = flags.dropType === 'relative' ? { mode: 'relative', percent: drop } : { mode: 'absolute', points: drop };
  const metric = metricSpec(flags.metric);
  if (metric === 'classification' && !flags.labels) throw new QtuneError('cli_invalid', `--metric ${flags.metric} needs --labels (or use --metric fidelity)`);
  const preprocess = preprocessFromFlags({ ...flags, data: flags.calib });
  return {
    calibration: { data: flags.calib, preprocess, skipBadImages: flags.skipBadImages },
    calibrationBatchSize: positiveInt('batch-size', flags.batchSize),
    evaluation: {
      data: flags.eval,
      labels: flags.labels,
      preprocess,
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
