// The `qtune` command line: the engine without the app, for scripts and CI.

import { Command } from 'commander';
import { findAppPaths } from '../backend/app-paths';
import { registerServe } from './commands/serve';
import { registerSummary } from './commands/summary';
import { registerCreateConfig } from './commands/create-config';
import { registerCalibrate } from './commands/calibrate';
import { registerEvaluate } from './commands/evaluate';
import { registerUpgrade } from './commands/upgrade';
import { registerAnalyze } from './commands/analyze';
import { addRuntimeOptions } from './runtime-options';
import { registerRun } from './commands/run';
import { registerTune } from './commands/tune';
import { registerBenchmark } from './commands/benchmark';

// Output piped into `head` and closed early is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command();
program
  .name('qtune')
  .description('Quantize ONNX models to int8 and find out why accuracy dropped.')
  .version(findAppPaths().version)
  // A mistake on the command line is one line naming it, like every other error (the help is one --help away).
  .configureOutput({ outputError: (str, write) => write(`qtune: ${str.trim().split('\n')[0]} (see --help)\n`) });

addRuntimeOptions(program);
registerSummary(program);
registerCreateConfig(program);
registerCalibrate(program);
registerServe(program);
registerEvaluate(program);
registerUpgrade(program);
registerAnalyze(program);
registerRun(program);
registerTune(program);
registerBenchmark(program);

await program.parseAsync(process.argv);
