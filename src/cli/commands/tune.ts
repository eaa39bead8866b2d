// `qtune tune`: the tuning loop run automatically until the accuracy target
// is met with the fewest layers in float, or the budget is spent. One line per
// trial; best_config.json, best_quant_model.onnx and trials.json always hold
// the best so far, so Ctrl+C or a crash loses nothing (--resume goes on).

import { copyFile, readFile, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../backend/atomic-file';
import { tune } from '../../engine/pipeline/tuner';
import { QtuneError } from '../../shared/errors';
import { DEFAULT_TARGET, formatSimilarity, type AccuracyTarget } from '../../shared/eval-types';
import type { TuneSummary, TuneTrial } from '../../shared/tune-types';
import { cancelOnInterrupt } from '../cancel';
import { fail, printJson, progressPrinter } from '../output';
import { addTrialOptions, stagePrinter, trialSetup, type TrialFlags } from '../trial-options';
import { oneLine } from './calibrate';

interface TuneFlags extends TrialFlags {
  config?: string;
  maxTrials?: string;
  maxMinutes?: string;
  resume?: boolean;
}

/** A trial's figure: accuracy with its drop, or a similarity target's metric. */
function figure(t: TuneTrial, target: AccuracyTarget): string {
  return target.mode === 'similarity' ? `${target.metric} ${formatSimilarity(target.metric, t.value)}` : `${t.value.toFixed(2)} (drop ${t.drop.toFixed(2)})`;
}

/** One line per trial: what changed, the metric, the drop, the float layers. */
export function trialLine(t: TuneTrial, target: AccuracyTarget = DEFAULT_TARGET): string {
  const verdict = t.error ? `failed: ${t.error}` : `${figure(t, target)} ${t.meets ? 'meets' : 'misses'} the target`;
  return `trial ${t.index} [${t.phase}] ${t.change}: ${verdict}; ${t.floatLayers.length} layer${t.floatLayers.length === 1 ? '' : 's'} in float`;
}

function positive(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new QtuneError('cli_invalid', `--${flag} wants a positive number, got "${v}"`);
  return n;
}

async function readPrevious(file: string): Promise<TuneSummary> {
  try {
    const s = JSON.parse(await readFile(file, 'utf8')) as TuneSummary;
    if (s.version !== 1 || !Array.isArray(s.trials)) throw new Error('not a qtune trials.json');
    return s;
  } catch (err) {
    throw new QtuneError('tune_resume', `cannot resume from ${file}: ${(err as Error).message}`, { file });
  }
}

export function registerTune(program: Command): void {
  const cmd = program
    .command('tune')
    .description('tune automatically: default config, then keep the most sensitive layers in float (binary search), put back what is not needed, try other IFMR/ARQ parameters; every trial kept')
    .option('--config <start.json>', 'the config to start from (default: every quantizable layer, default settings)')
    .option('--max-trials <n>', 'evaluations of an int8 model at most')
    .option('--max-minutes <m>', 'wall time at most')
    .option('--resume', 'continue the tuning recorded in --out/trials.json (its trials are not evaluated again)');
  addTrialOptions(cmd).action(async (flags: TuneFlags) => {
    const signal = cancelOnInterrupt();
    const bar = progressPrinter();
    try {
      const setup = trialSetup(flags);
      const budget = { maxTrials: positive('max-trials', flags.maxTrials), maxMinutes: positive('max-minutes', flags.maxMinutes) };
      if (budget.maxTrials !== undefined && !Number.isInteger(budget.maxTrials)) throw new QtuneError('cli_invalid', `--max-trials wants an integer, got "${flags.maxTrials}"`);
      const out = resolve(flags.out);
      const files = { config: join(out, 'best_config.json'), model: join(out, 'best_quant_model.onnx'), trials: join(out, 'trials.json') };
      const previous = flags.resume && existsSync(files.trials) ? await readPrevious(files.trials) : undefined;
      if (!flags.resume && existsSync(files.trials)) {
        throw new QtuneError('tune_exists', `${files.trials} exists: continue it with --resume, or choose another --out`, { file: files.trials });
      }
      const scratch = join(out, '.scratch');
      const progress = stagePrinter(bar);
      const summary = await tune({
        modelPath: flags.model,
        startConfig: flags.config,
        ...setup,
        budget,
        previous,
        trialDir: (i) => join(out, 'trials', String(i).padStart(3, '0')),
        scratchDir: scratch,
        signal,
        onProgress: progress,
        onTrial: async (trial, result, dir, isBest) => {
          bar.end();
          if (!flags.json) console.log(trialLine(trial, setup.evaluation.target));
          if (isBest && result) {
            // the model first, then the config: a config on disk always has its model beside it
            const tmp = `${files.model}.${process.pid}.tmp`;
            await copyFile(join(dir, result.run.artifacts.quantModel), tmp);
            await rename(tmp, files.model);
            await writeFileAtomic(files.config, `${JSON.stringify(trial.config, null, 2)}\n`);
          }
        },
        onSummary: (s) => writeFileAtomic(files.trials, `${JSON.stringify(s, null, 2)}\n`),
      });
      bar.end();
      await rm(scratch, { recursive: true, force: true });
      if (flags.json) return printJson(summary);
      const best = summary.trials.find((t) => t.index === summary.best);
      console.log(`${summary.trials.length} trial${summary.trials.length === 1 ? '' : 's'}; ${summary.stopReason ?? summary.status}`);
      console.log(summary.verdict);
      const bestFigure = (b: TuneTrial) =>
        summary.target.mode === 'similarity' ? `int8 ${figure(b, summary.target)}` : `int8 ${b.value.toFixed(2)}, float ${b.floatValue.toFixed(2)}, drop ${b.drop.toFixed(2)}`;
      if (best) console.log(`best config: ${files.config} (trial ${best.index}: ${bestFigure(best)}, ${best.floatLayers.length} in float)`);
      console.log(`  wrote ${files.model}, ${files.trials}`);
      if (summary.status === 'stopped') process.exitCode = 130;
      else if (!best?.meets) process.exitCode = 2;
    } catch (err) {
      bar.end();
      fail(oneLine(err));
    }
  });
}
