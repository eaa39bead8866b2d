import type { Command } from 'commander';
import { readModelIo } from '../../engine/runtime/model-io';
import type { TensorIo } from '../../shared/model-io';
import { fail, printJson } from '../output';

function formatTensor(t: TensorIo): string {
  return `  ${t.name}: ${t.type} [${t.shape ? t.shape.join(', ') : '?'}]`;
}

export function registerSummary(program: Command): void {
  program
    .command('summary')
    .description('show a model\'s inputs and outputs as ONNX Runtime sees them')
    .argument('<model>', 'path to an .onnx file')
    .option('--json', 'print JSON for scripts')
    .action(async (model: string, opts: { json?: boolean }) => {
      try {
        const io = await readModelIo(model);
        if (opts.json) return printJson(io);
        console.log(`${io.path} (${(io.sizeBytes / 1024).toFixed(1)} KiB)`);
        console.log('inputs:');
        io.inputs.forEach((t) => console.log(formatTensor(t)));
        console.log('outputs:');
        io.outputs.forEach((t) => console.log(formatTensor(t)));
      } catch (err) {
        fail(err);
      }
    });
}
