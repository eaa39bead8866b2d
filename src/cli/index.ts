// The `qtune` command line: the engine without the app, for scripts and CI.

import { Command } from 'commander';
import { findAppPaths } from '../backend/app-paths';
import { registerServe } from './commands/serve';
import { registerSummary } from './commands/summary';
import { registerEvaluate } from './commands/evaluate';

const program = new Command();
program
  .name('qtune')
  .description('Quantize ONNX models to int8 and find out why accuracy dropped.')
  .version(findAppPaths().version)
  .showHelpAfterError();

registerSummary(program);
registerServe(program);
registerEvaluate(program);

await program.parseAsync(process.argv);
