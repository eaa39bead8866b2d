import type { Command } from 'commander';
import { summarizeModel } from '../../engine/onnx/summary';
import type { ModelSummary, SummaryTensor } from '../../shared/model-summary';
import { fail, printJson } from '../output';

const tensor = (t: SummaryTensor) => `  ${t.name}: ${t.type} [${t.shape ? t.shape.join(', ') : '?'}]`;

function printSummary(s: ModelSummary): void {
  console.log(`${s.path} (${(s.sizeBytes / 1024).toFixed(1)} KiB)`);
  console.log(`IR ${s.irVersion}, opset ${s.opset}, producer ${s.producerName || '?'} ${s.producerVersion}`);
  console.log(`${s.nodeCount} nodes, ${s.paramCount.toLocaleString('en-US')} parameters`);
  console.log('inputs:');
  s.inputs.forEach((t) => console.log(tensor(t)));
  console.log('outputs:');
  s.outputs.forEach((t) => console.log(tensor(t)));
  const ops = Object.entries(s.opCounts).sort((a, b) => b[1] - a[1]);
  console.log(`ops: ${ops.map(([op, n]) => `${op} ${n}`).join(', ')}`);
  console.log(`quantizable layers: ${s.quantizableCount} of ${s.layers.length} candidates`);
  for (const b of s.subgraphs ?? []) console.log(`  in ${b.opType} body ${b.path}: ${b.quantizable} of ${b.layers} (${b.nodeCount} nodes)`);
  for (const l of s.layers) {
    console.log(`  ${l.quantizable ? '✓' : '✗'} ${l.name} (${l.opType}, ${l.paramCount.toLocaleString('en-US')} params)${l.reason ? ` — ${l.reason}` : ''}`);
  }
  if (s.opset < 13) console.log(`note: opset ${s.opset} < 13; qtune upgrades the model to opset 13 before quantizing (qtune upgrade)`);
}

export function registerSummary(program: Command): void {
  program
    .command('summary')
    .description('show a model: versions, inputs and outputs, op counts, parameters and its quantizable layers')
    .argument('<model>', 'path to an .onnx file')
    .option('--json', 'print JSON for scripts')
    .action(async (model: string, opts: { json?: boolean }) => {
      try {
        const summary = summarizeModel(model);
        if (opts.json) printJson(summary);
        else printSummary(summary);
      } catch (err) {
        fail(err);
      }
    });
}
