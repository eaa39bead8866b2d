// Simulation vs runtime on the fixture models: the int8 model qtune exports by
// default must give the runtime's integer kernels the answers the simulation
// (graph optimisations off) gives: top-1 within 0.3 points, >= 99% agreement.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDataset } from '../data/dataset';
import { datasetFromShortForm } from '../data/manifest';
import { quantizeModel } from '../quant/quantize';
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
