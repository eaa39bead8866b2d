// Calibration cost against plain inference over the same batches: the extra
// work of exposing every enabled layer's input and holding it should stay
// small (target: calibration pass <= 1.5x plain inference), with the IFMR
// searches reported apart.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset } from '../src/engine/data/dataset';
import { datasetFromShortForm } from '../src/engine/data/manifest';
import { createSession, loadModel, ort, findQuantizableLayers, type OnnxModel } from '../src/engine/onnx';
import { calibrate, inputSpecsOf } from '../src/engine/quant/calibrate';
import { createQuantConfig } from '../src/engine/quant/config';
import { foldBatchNorm } from '../src/engine/quant/fusion';

const ROOT = process.cwd();
const CASES = [
  { model: 'mobilenetv2_fmnist.onnx', data: 'fmnist' },
  { model: 'sensitive_fmnist.onnx', data: 'fmnist' },
  { model: 'lenet_mnist.onnx', data: 'mnist' },
];
const BATCH = 32;
const BATCH_NUM = 8;

async function openData(model: OnnxModel, data: string) {
  const inputs = inputSpecsOf(model);
  return openDataset(await datasetFromShortForm({ data, inputName: inputs[0].name }), { inputs });
}

async function plainInference(model: OnnxModel, data: string): Promise<number> {
  const dataset = await openData(model, data);
  const t = performance.now();
  const session = await createSession(model, { forComparison: false });
  for await (const b of dataset.batches({ batchSize: BATCH, limit: BATCH * BATCH_NUM })) {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [k, f] of Object.entries(b.feeds)) feeds[k] = new ort.Tensor(f.type, f.data, f.dims);
    await session.run(feeds);
  }
  await session.release();
  return performance.now() - t;
}

export default async function (): Promise<void> {
  for (const c of CASES) {
    const path = join(ROOT, 'test/fixtures/models', c.model);
    if (!existsSync(path)) {
      console.log(`calibrate ${c.model}: fixture not present, skipped`);
      continue;
    }
    const model = loadModel(path);
    foldBatchNorm(model);
    const data = join(ROOT, 'test/fixtures/data', c.data, 'calib_x.npy');
    const config = createQuantConfig(findQuantizableLayers(model).filter((l) => l.quantizable), { batchNum: BATCH_NUM });
    await plainInference(model, data); // warm-up (ORT load, page cache)
    const plain = Math.min(await plainInference(model, data), await plainInference(model, data));
    let best = { pass: Infinity, ifmr: Infinity };
    for (let rep = 0; rep < 2; rep++) {
      const dataset = await openData(model, data);
      const t0 = performance.now();
      let tIfmr = 0;
      const r = await calibrate(model, dataset, config, {
        batchSize: BATCH,
        onProgress: (p) => {
          if (p.stage === 'ifmr' && !tIfmr) tIfmr = performance.now();
        },
      });
      const end = performance.now();
      const pass = (tIfmr || end) - t0;
      if (pass < best.pass) best = { pass, ifmr: end - (tIfmr || end) };
      if (rep === 0) console.log(`calibrate ${c.model}: ${r.layers.length} layers, ${r.samples} samples (${BATCH_NUM} x ${BATCH}), ${r.passes} pass(es)`);
    }
    console.log(`calibrate ${c.model}: calibration pass / plain inference = ${(best.pass / plain).toFixed(2)} (target <= 1.5)`);
    console.log(`calibrate ${c.model}: IFMR searches / plain inference = ${(best.ifmr / plain).toFixed(2)} (all layers; reported apart)`);
  }
}
