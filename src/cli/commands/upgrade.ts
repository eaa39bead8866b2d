import type { Command } from 'commander';
import { upgradeModelFile } from '../../engine/onnx/upgrade';
import { QtuneError } from '../../shared/errors';
import { fail, printJson } from '../output';

export function registerUpgrade(program: Command): void {
  program
    .command('upgrade')
    .description('convert a model to a newer opset (13 or later, which int8 QDQ export needs)')
    .argument('<in>', 'the model to convert')
    .argument('<out>', 'where to write the converted model')
    .option('--opset <n>', 'target opset', '13')
    .option('--json', 'print the conversion report as JSON')
    .action(async (input: string, output: string, opts: { opset: string; json?: boolean }) => {
      try {
        const opset = Number.parseInt(opts.opset, 10);
        if (!Number.isInteger(opset)) throw new QtuneError('cli_invalid', `--opset wants a number, got "${opts.opset}"`);
        const report = await upgradeModelFile(input, output, opset);
        if (opts.json) printJson(report);
        else {
          console.log(`${input} → ${output}: opset ${report.from} → ${report.to}, ${report.changes.length} nodes rewritten`);
          for (const c of report.changes) console.log(`  ${c.node} (${c.opType}): ${c.change}`);
        }
      } catch (err) {
        fail(err);
      }
    });
}
