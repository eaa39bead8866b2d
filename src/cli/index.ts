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
  .showHelpAfterError();

registerSummary(program);
registerCreateConfig(program);
registerCalibrate(program);
registerServe(program);
registerEvaluate(program);
registerUpgrade(program);
registerAnalyze(program);
registerBenchmark(program);

await program.parseAsync(process.argv);
