// How a model's numbers are stored, through the CLI: float16 models (refused
// per layer with the reason, never a failed run) and models whose weights
// live in external data files.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, statfsSync, statSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DT, makeNode, makeTensor, makeValueInfo, saveModel, tensorDataBytes } from '../engine/onnx';
import { writeNpy } from '../engine/data/npy';
import { modelOf } from '../../test/fixtures/quant/build-models';
import { qtuneSync } from './testing';

const fp16 = resolve('test/fixtures/models/lenet_mnist_fp16.onnx');
const mnist = resolve('test/fixtures/data/mnist');

describe('float16 models', () => {
  it('lists every layer as not quantizable with the element type, and calibrate keeps the model float with a note', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-fp16-'));
    const s = qtuneSync(['summary', fp16, '--json']);
    expect(s.code, s.stderr).toBe(0);
    const layers = JSON.parse(s.stdout).layers as { name: string; opType: string; quantizable: boolean; reason?: string }[];
    expect(layers).toHaveLength(7);
    expect(layers.filter((l) => l.quantizable)).toEqual([]);
    expect(layers[0].reason).toBe("input 'input', weight and bias are float16 (only float32 layers are quantized; convert the model to float32 to quantize it)");
    // the pools have no weight: their float16 input is the reason
    expect(layers.find((l) => l.opType === 'AveragePool')!.reason).toMatch(/^input '\/features\/relu1\/Relu_output_0' is float16/);

    const cal = qtuneSync(['calibrate', '--model', fp16, '--data', join(mnist, 'calib_x.npy'), '--save-path', join(dir, 'l')]);
    expect(cal.code, cal.stderr).toBe(0);
    expect(cal.stdout).toContain('quantized 0 of 7 layers');
    expect(cal.stdout).toContain("note: no layer was quantized: each candidate is refused (/features/conv1/Conv: input 'input', weight and bias are float16");
    const ev = qtuneSync(['evaluate', '--model', join(dir, 'l_quant_model.onnx'), '--reference', fp16, '--data', join(mnist, 'eval_x.npy'), '--labels', join(mnist, 'eval_y.npy'), '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const r = JSON.parse(ev.stdout);
    expect(r.reference.value).toBeCloseTo(98.55, 5); // float16 scores what float32 LeNet does on these samples
    expect(r.value).toBe(r.reference.value);
  });
});

/**
 * x [N, 256] → three MatMul layers, each with its own [256, COLS] weight: 2.2 GB of float32 weights, more than one
 * protobuf message can hold, so the file is written (and must be read) with external data.
 */
const ROWS = 256;
const COLS = 720_000;
const LAYERS = 3;
const BIG_BYTES = ROWS * COLS * LAYERS * 4;

async function bigModel(dir: string): Promise<{ model: string; data: string }> {
  const inits = [];
  for (let l = 0; l < LAYERS; l++) {
    const w = new Float32Array(ROWS * COLS);
    // deterministic weights in [-0.05, 0.05], a different pattern per layer
    let s = 12345 + l;
    for (let i = 0; i < w.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      w[i] = ((s >>> 8) / 2 ** 24 - 0.5) / 10;
    }
    inits.push(makeTensor(`w${l}`, [ROWS, COLS], w));
  }
  const nodes = inits.map((_, l) => makeNode('MatMul', ['x', `w${l}`], [`y${l}`], { name: `big_matmul_${l}` }));
  const m = modelOf(nodes, inits, { name: 'x', shape: ['N', ROWS] }, inits.map((_, l) => `y${l}`));
  m.graph.outputs.splice(0, m.graph.outputs.length, ...inits.map((_, l) => makeValueInfo(`y${l}`, DT.FLOAT, ['N', COLS])));
  expect(tensorDataBytes(m)).toBe(BIG_BYTES);
  const model = join(dir, 'big.onnx');
  saveModel(m, model); // over the protobuf limit: written with external data by itself
  const x = new Float32Array(8 * ROWS).map((_, i) => Math.sin(i * 0.37));
  const data = join(dir, 'x.npy');
  await writeNpy(data, { dtype: 'float32', shape: [8, ROWS], data: x });
  return { model, data };
}

/**
 * Why the >2 GB test does not run here, or undefined when it does. It takes about 9 minutes and ~8 GB of memory
 * and ~6 GB of disk, so `npm test` runs it only when asked (QTUNE_TEST_BIG_MODEL=1); the external-data code
 * paths run on every `npm test` in src/engine/onnx/external-data.test.ts with a lowered size limit.
 */
function bigModelSkipReason(): string | undefined {
  if (process.env.QTUNE_TEST_BIG_MODEL !== '1') return 'set QTUNE_TEST_BIG_MODEL=1 to run it: it takes about 9 minutes';
  const mem = freemem();
  if (mem < 10 * 2 ** 30) return `needs 10 GiB of free memory, this machine has ${(mem / 2 ** 30).toFixed(1)} GiB`;
  const fs = statfsSync(tmpdir());
  const disk = fs.bavail * fs.bsize;
  if (disk < 8 * 2 ** 30) return `needs 8 GiB of free disk in ${tmpdir()}, there are ${(disk / 2 ** 30).toFixed(1)} GiB`;
  return undefined;
}

const skipBig = bigModelSkipReason();
if (skipBig) console.log(`skipped: the model with external data over 2 GB (${skipBig})`);

describe('a model with external data over 2 GB', () => {
  it.skipIf(skipBig !== undefined)('loads, calibrates and saves: the fused float model keeps its weights in external data, the int8 model runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-big-'));
    try {
      const { model, data } = await bigModel(dir);
      expect(statSync(model).size).toBeLessThan(1e6);
      expect(statSync(`${model}.data`).size).toBeGreaterThanOrEqual(BIG_BYTES);

      const s = qtuneSync(['summary', model, '--json'], { timeoutMs: 600_000 });
      expect(s.code, s.stderr).toBe(0);
      const layers = JSON.parse(s.stdout).layers as { quantizable: boolean }[];
      expect(layers.map((l) => l.quantizable)).toEqual([true, true, true]);

      const out = join(dir, 'out', 'big');
      const cal = qtuneSync(['calibrate', '--model', model, '--data', data, '--batch-size', '4', '--save-path', out], { timeoutMs: 900_000 });
      expect(cal.code, cal.stderr).toBe(0);
      expect(cal.stdout).toContain('quantized 3 of 3 layers');
      // the fused float model is as large as the input: its weights went to external data beside it
      expect(statSync(`${out}_fused_float.onnx`).size).toBeLessThan(1e6);
      expect(statSync(`${out}_fused_float.onnx.data`).size).toBeGreaterThanOrEqual(BIG_BYTES);
      // the int8 model is a quarter of that and fits in one message
      expect(existsSync(`${out}_quant_model.onnx.data`)).toBe(false);
      expect(statSync(`${out}_quant_model.onnx`).size).toBeGreaterThan(BIG_BYTES / 4);

      const ev = qtuneSync(['evaluate', '--model', `${out}_quant_model.onnx`, '--reference', `${out}_fused_float.onnx`, '--data', data, '--metric', 'cosine', '--json'], { timeoutMs: 600_000 });
      expect(ev.code, ev.stderr).toBe(0);
      // the int8 model computes what the float one does (the same layers at 2,000 columns score 0.92: the synthetic
      // weights' own int8 error, not the storage)
      expect(JSON.parse(ev.stdout).value).toBeGreaterThan(0.9);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 1_800_000);
});
