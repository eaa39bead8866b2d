// Models whose layers sit inside If / Loop bodies, through the CLI as a user runs it:
// summary → create-config → calibrate → evaluate → analyze, with the real engine and onnxruntime.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../engine/onnx';
import { qtuneSync } from './testing';

const models = resolve('test/fixtures/models');

/** float and int8 top-1 that test/fixtures/README.md states for a control-flow fixture. */
function readmeFigures(model: string): { float: number; int8: number } {
  const row = readFileSync(resolve('test/fixtures/README.md'), 'utf8').split('\n').find((l) => l.startsWith(`| [\`${model}\`]`))!;
  const c = row.split('|').map((x) => x.trim());
  return { float: Number(c[3]), int8: Number(c[4]) };
}
const mnist = resolve('test/fixtures/data/mnist');

interface EvalJson { value: number; judgement: { meets: boolean; floatValue: number; quantValue: number } }
interface AnalysisJson { layers: { name: string; quantized: boolean; accumulatedCosine?: number; weight?: { cosine: number }; activation?: unknown }[]; tensors: { name: string; samples: number }[] }

function run(args: string[]): string {
  const r = qtuneSync(args, { timeoutMs: 240_000 });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout + r.stderr;
}

/** calibrate → evaluate (against the float model) → analyze; returns what each printed or wrote. */
function pipeline(model: string, dir: string, batchSize: number, config?: string) {
  // evaluate at batch size 1 for the If model (each sample takes its own branch), as test/fixtures/README.md does
  const name = join(dir, 'out', 'm');
  const calibrate = run(['calibrate', '--model', model, ...(config ? ['--config', config] : []), '--data', join(mnist, 'calib_x.npy'), '--batch-size', String(batchSize), '--save-path', name]);
  const ev = JSON.parse(qtuneSync(['evaluate', '--model', `${name}_quant_model.onnx`, '--data', join(mnist, 'eval_x.npy'), '--labels', join(mnist, 'eval_y.npy'),
    '--reference', model, ...(batchSize === 1 ? ['--batch-size', '1'] : []), '--json'], { timeoutMs: 240_000 }).stdout) as EvalJson;
  run(['analyze', '--float', model, '--quant', `${name}_quant_model.onnx`, '--data', join(mnist, 'eval_x.npy'), '--samples', '16', '--batch-size', String(batchSize),
    '--stats', `${name}_stats.json`, '--out', join(dir, 'report')]);
  const analysis = JSON.parse(readFileSync(join(dir, 'report', 'analysis.json'), 'utf8')) as AnalysisJson;
  return { calibrate, ev, analysis, quant: `${name}_quant_model.onnx` };
}

describe('control flow through the CLI', () => {
  it('If: both branches are listed, calibrated from the samples that take them, quantized, evaluated and analysed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-if-'));
    const model = join(models, 'if_mnist.onnx');
    const summary = JSON.parse(run(['summary', model, '--json']).split('\n').filter((l) => !l.startsWith('npm')).join('\n')) as { quantizableCount: number; subgraphs: { path: string; quantizable: number }[] };
    expect(summary.quantizableCount).toBe(5);
    expect(summary.subgraphs.map((s) => [s.path, s.quantizable])).toEqual([['branch/else_branch', 2], ['branch/then_branch', 3]]);
    const config = join(dir, 'config.json');
    run(['create-config', model, '-o', config]);
    const json = JSON.parse(readFileSync(config, 'utf8'));
    expect(Object.keys(json)).toContain('branch/then_branch/conv2');
    json.batch_num = 64; // 64 samples one at a time: each takes its own branch
    writeFileSync(config, JSON.stringify(json));
    const r = pipeline(model, dir, 1, config);
    expect(r.calibrate).toMatch(/quantized 5 of 5 layers on 64 samples/);
    expect(r.ev.judgement.meets).toBe(true);
    expect({ float: r.ev.judgement.floatValue, int8: r.ev.judgement.quantValue }).toEqual(readmeFigures('if_mnist.onnx'));
    const q = loadModel(r.quant);
    const ifNode = q.graph.nodes.find((n) => n.opType === 'If')!;
    for (const a of ifNode.attribute) expect(a.g!.node.filter((n) => n.opType === 'QuantizeLinear').length).toBeGreaterThan(0);
    const layers = r.analysis.layers.filter((l) => l.name.startsWith('branch/'));
    expect(layers.map((l) => l.name).sort()).toEqual(['branch/else_branch/conv', 'branch/else_branch/fc', 'branch/then_branch/conv1', 'branch/then_branch/conv2', 'branch/then_branch/fc']);
    for (const l of layers) {
      expect(l.quantized).toBe(true);
      expect(l.accumulatedCosine).toBeGreaterThan(0.99);
      expect(l.weight!.cosine).toBeGreaterThan(0.99);
      expect(l.activation).toBeDefined();
    }
    // a branch's tensors are compared on the samples that took it: the two branches share the 16 samples
    const then = r.analysis.tensors.find((t) => t.name === 'branch/then_branch/t4')!;
    const other = r.analysis.tensors.find((t) => t.name === 'branch/else_branch/e1')!;
    expect(then.samples + other.samples).toBe(16);
    expect(then.samples).toBeGreaterThan(0);
    expect(other.samples).toBeGreaterThan(0);
  }, 300_000);

  it('If: a branch no calibration sample took stays float, and calibrate says so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-if32-'));
    const model = join(models, 'if_mnist.onnx');
    const out = run(['calibrate', '--model', model, '--data', join(mnist, 'calib_x.npy'), '--batch-size', '32', '--save-path', join(dir, 'm')]);
    const noSample = out.split('\n').filter((l) => l.includes('no calibration sample reached it'));
    expect(noSample.length === 2 || noSample.length === 3).toBe(true);
    const branch = /branch\/(\w+)\//.exec(noSample[0])![1];
    expect(noSample.every((l) => l.includes(`branch/${branch}/`) && l.includes(`branch/${branch} was never executed`))).toBe(true);
    expect(out).toMatch(new RegExp(`quantized ${5 - noSample.length} of 5 layers`));
    const q = loadModel(join(dir, 'm_quant_model.onnx'));
    const untaken = q.graph.nodes.find((n) => n.opType === 'If')!.attribute.find((a) => a.name === branch)!.g!;
    expect(untaken.node.some((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear')).toBe(false);
  }, 120_000);

  it('Loop: the body layer is calibrated over every iteration, quantized, evaluated and analysed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-loop-'));
    const model = join(models, 'loop_mnist.onnx');
    const r = pipeline(model, dir, 32);
    expect(r.calibrate).toMatch(/quantized 3 of 3 layers/);
    expect(r.ev.judgement.meets).toBe(true);
    expect({ float: r.ev.judgement.floatValue, int8: r.ev.judgement.quantValue }).toEqual(readmeFigures('loop_mnist.onnx'));
    const stats = JSON.parse(readFileSync(join(dir, 'out', 'm_stats.json'), 'utf8')) as { layers: { name: string; count: number; inputTensor: string }[] };
    const body = stats.layers.find((l) => l.name === 'refine/body/conv')!;
    expect(body.inputTensor).toBe('h_in');
    expect(body.count).toBe(3 * 32 * 8 * 14 * 14); // 3 iterations of batch_num 1 × 32 samples
    const layer = r.analysis.layers.find((l) => l.name === 'refine/body/conv')!;
    expect(layer.quantized).toBe(true);
    expect(layer.accumulatedCosine).toBeGreaterThan(0.99);
    expect(r.analysis.tensors.some((t) => t.name === 'refine/body/b1')).toBe(true);
  }, 300_000);
});

describe('README: supported models', () => {
  it('the control-flow row names the fixtures these tests run, and no longer says bodies are not looked into', () => {
    const row = readFileSync(resolve('README.md'), 'utf8').split('\n').find((l) => l.startsWith('| control flow |'))!;
    const [, , supported, notYet] = row.split('|').map((c) => c.trim());
    for (const claim of ['`If`', '`Loop`', '`Scan`', '`if_mnist.onnx`', '`loop_mnist.onnx`', '`branch/then_branch/conv1`', 'stays float', 'inside the body', 'graph view']) expect(supported).toContain(claim);
    expect(notYet).toContain('isolated and output sensitivity');
    expect(notYet).not.toMatch(/not looked into/);
  });
});
