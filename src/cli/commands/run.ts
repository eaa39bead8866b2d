// `qtune run`: one turn of the tuning loop from the command line — quantize
// with a config, evaluate the float and the int8 model, judge the drop.

import { join } from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../backend/atomic-file';
import { runTrial } from '../../engine/pipeline/trial';
import { cancelOnInterrupt } from '../cancel';
import { fail, printJson, progressPrinter } from '../output';
import { addTrialOptions, stagePrinter, trialSetup, type TrialFlags } from '../trial-options';
import { oneLine } from './calibrate';

interface RunFlags extends TrialFlags {
  config?: string;
}

export function registerRun(program: Command): void {
  const cmd = program
    .command('run')
    .description('one trial: quantize with a config, evaluate float and int8, judge the drop against the target, list the flipped samples')
    .option('--config <config.json>', 'quantization config (default: every quantizable layer, default settings)');
  addTrialOptions(cmd).action(async (flags: RunFlags) => {
    const signal = cancelOnInterrupt();
    const bar = progressPrinter();
    try {
      const setup = trialSetup(flags);
      const { run } = await runTrial({ modelPath: flags.model, config: flags.config, ...setup, outDir: flags.out, signal, onProgress: stagePrinter(bar) });
      bar.end();
      await writeFileAtomic(join(flags.out, 'result.json'), `${JSON.stringify(run, null, 2)}\n`);
      if (flags.json) return printJson(run);
      const enabled = run.layers.filter((l) => l.enabled).length;
      console.log(run.judgement.message);
      console.log(`  ${enabled} of ${run.layers.length} layers in int8; ${run.flipCounts.total} samples changed prediction (${run.flipCounts.broke} now wrong, ${run.flipCounts.fixed} now right)`);
      for (const n of run.notes) console.log(`  note: ${n}`);
      console.log(`  wrote ${join(flags.out, run.artifacts.quantModel)} and result.json`);
      if (!run.judgement.meets) process.exitCode = 2;
    } catch (err) {
      bar.end();
      fail(oneLine(err));
    }
  });
}
