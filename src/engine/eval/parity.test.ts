// Simulation vs runtime on the fixture models: the int8 model qtune exports by
// default must give the runtime's integer kernels the answers the simulation
// (graph optimisations off) gives: top-1 within 0.3 points, >= 99% agreement.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDataset, type Dataset } from '../data/dataset';
import { datasetFromShortForm } from '../data/manifest';
import { createSession, toOrtFeeds } from '../onnx';
import { quantizeModel } from '../quant/quantize';
import { rows } from './evaluate';
import { top1 } from './metrics';
import { parityVerdict, runtimeParity } from './parity';

const FIX = join(process.cwd(), 'test/fixtures');
const out = mkdtempSync(join(tmpdir(), 'qtune-parity-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('parityVerdict', () => {
  it('warns past 0.3 points or 1% flips, and says what it measured', () => {
    const base = { samples: 1000, labelled: true, maxAbsDiff: 0.04 };
    expect(parityVerdict({ ...base, agree: 995, simCorrect: 900, realCorrect: 898 }, 'logits').ok).toBe(true);
    expect(parityVerdict({ ...base, agree: 985, simCorrect: 900, realCorrect: 900 }, 'logits').ok).toBe(false); // 1.5% flips
    expect(parityVerdict({ ...base, agree: 995, simCorrect: 900, realCorrect: 896 }, 'logits').ok).toBe(false); // 0.4 points
    const v = parityVerdict({ ...base, agree: 995, simCorrect: 900, realCorrect: 898 }, 'logits');
    expect(v.summary).toBe('simulated 90.00% vs runtime 89.80% top-1; 99.5% of 1000 samples agree on top-1; largest output difference 0.0400');
    expect(parityVerdict({ ...base, labelled: false, agree: 1000, simCorrect: 0, realCorrect: 0 }, 'y').simulatedMetric).toBeNull();
  });
});

describe('runtime parity of the default export on the fixtures', () => {
  for (const [model, data] of [['lenet_mnist', 'mnist'], ['mobilenetv2_fmnist', 'fmnist'], ['sensitive_fmnist', 'fmnist']]) {
    it(`${model}: simulated and runtime top-1 within 0.3 points, >= 99% agree`, async () => {
      const r = await quantizeModel({ modelPath: join(FIX, 'models', `${model}.onnx`), dataset: { data: join(FIX, 'data', data, 'calib_x.npy') }, outDir: out, name: model, batchSize: 32 });
      const inputs = [{ name: 'input', dims: ['batch', 1, 28, 28] as (number | string)[], type: 'float32' }];
      const desc = await datasetFromShortForm({ data: join(FIX, 'data', data, 'eval_x.npy'), labels: join(FIX, 'data', data, 'eval_y.npy'), inputName: 'input' });
      const p = await runtimeParity({ modelPath: r.files.quantModel, dataset: await openDataset(desc, { inputs }), batchSize: 250 });
      console.log(`${model}: ${p.summary}`);
      expect(p.samples).toBe(2000);
      expect(Math.abs(p.simulatedMetric! - p.runtimeMetric!)).toBeLessThanOrEqual(0.3);
      expect(p.top1Agreement).toBeGreaterThanOrEqual(99);
      expect(p.ok).toBe(true);
    }, 60_000);
  }
});

// The parity check above cannot see what the ort-cpu layout itself costs: the simulation and the runtime both run
// its extra Q/DQ (residual Add inputs, pooled inputs). AMCT's own simulation (the generic-qdq layout, graph
// optimisations off) is the reference for that: the extra roundings move a few predictions (4 to 6 of 2,000,
// test/fixtures/README.md), never many. A poor range or a wrong zero point for those tensors fails here.
async function predictions(modelPath: string, runtime: boolean, dataset: Dataset): Promise<{ top1: number[]; correct: number }> {
  const session = await createSession(modelPath, { forComparison: !runtime });
  const out: number[] = [];
  let correct = 0;
  try {
    for await (const batch of dataset.batches({ batchSize: 250 })) {
      const result = await session.run(toOrtFeeds(batch.feeds));
      const { data, per } = rows(result[session.outputNames[0]], batch, session.outputNames[0]);
      batch.indices.forEach((sample, i) => {
        const k = top1(data, i * per, per).prediction;
        out.push(k);
        if (k === dataset.labels![sample]) correct++;
      });
    }
  } finally {
    await session.release();
  }
  return { top1: out, correct };
}

describe('the default export against AMCT\'s simulation', () => {
  for (const [model, data] of [['mobilenetv2_fmnist', 'fmnist'], ['sensitive_fmnist', 'fmnist']]) {
    it(`${model}: the runtime's top-1 differs from the generic-qdq simulation's on at most 8 of 2,000 samples`, async () => {
      const inputs = [{ name: 'input', dims: ['batch', 1, 28, 28] as (number | string)[], type: 'float32' }];
      const desc = await datasetFromShortForm({ data: join(FIX, 'data', data, 'eval_x.npy'), labels: join(FIX, 'data', data, 'eval_y.npy'), inputName: 'input' });
      const dataset = await openDataset(desc, { inputs });
      const quantized = async (target: 'ort-cpu' | 'generic-qdq') =>
        (await quantizeModel({ modelPath: join(FIX, 'models', `${model}.onnx`), dataset: { data: join(FIX, 'data', data, 'calib_x.npy') }, outDir: out, name: `${model}_${target}`, batchSize: 32, target })).files.quantModel;
      const amct = await predictions(await quantized('generic-qdq'), false, dataset);
      const runtime = await predictions(await quantized('ort-cpu'), true, dataset);
      const flips = amct.top1.filter((k, i) => k !== runtime.top1[i]).length;
      console.log(`${model}: AMCT simulation ${amct.correct}, ort-cpu export in the runtime ${runtime.correct} of 2000 correct; ${flips} predictions differ`);
      expect(amct.top1.length).toBe(2000);
      expect(flips).toBeLessThanOrEqual(8);
      expect(Math.abs(runtime.correct - amct.correct)).toBeLessThanOrEqual(5);
    }, 120_000);
  }
});
