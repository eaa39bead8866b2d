import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, ort, runExposed, type OnnxModel } from '../onnx';
import { exportQdq } from '../quant/qdq-export';
import { compareAccumulated, matchTensors } from './compare';
import { cosineFromDiff } from '../eval/metrics';
import { isolatedSensitivity, prepareTwinPass, sensitivityFromSums, type TwinPass } from './isolated';
import { readQdqLayers } from './qdq-layers';
import { MetricAccumulator, SampleStream, type SampleBatch } from './samples';
import { compareTensors } from './metrics';
import { openDataset, type Dataset } from '../data/dataset';
import { datasetFromShortForm } from '../data/manifest';
import { activationRanges, makeTestQdqModel, npyFeed } from './testing';

const MODEL = join(process.cwd(), 'test/fixtures/models/lenet_mnist.onnx');
const DATA = join(process.cwd(), 'test/fixtures/data/mnist/calib_x.npy');

let float: OnnxModel;
let ranges: Awaited<ReturnType<typeof activationRanges>>;
let batches: SampleBatch[];
let input: ort.Tensor;

/** Two batches of 6 samples each, indices 0..11 */
function toBatches(t: ort.Tensor, per: number): SampleBatch[] {
  const n = t.dims[0];
  const size = (t.data as Float32Array).length / n;
  const out: SampleBatch[] = [];
  for (let s = 0; s < n; s += per) {
    const rows = Math.min(per, n - s);
    const data = (t.data as Float32Array).slice(s * size, (s + rows) * size);
    out.push({ feeds: { input: new ort.Tensor('float32', data, [rows, ...t.dims.slice(1)]) }, indices: Array.from({ length: rows }, (_, i) => s + i), rows });
  }
  return out;
}

beforeAll(async () => {
  float = loadModel(MODEL);
  input = npyFeed(DATA, 12);
  ranges = await activationRanges(float, { input: npyFeed(DATA, 64) });
  batches = toBatches(input, 6);
});

describe('accumulated comparison', () => {
  it('a layer left in float (and everything before it) compares as identical; quantized layers are marked', async () => {
    const quant = makeTestQdqModel(float, ranges, { enabled: ['/features/conv2/Conv', '/classifier/fc1/Gemm'] });
    const info = readQdqLayers(quant);
    expect(info.layers.map((l) => l.name)).toEqual(['/features/conv2/Conv', '/classifier/fc1/Gemm']);
    const r = await compareAccumulated(float, quant, info.layers, { batches });
    const byName = new Map(r.tensors.map((t) => [t.name, t]));
    const conv1 = byName.get('/features/conv1/Conv_output_0')!;
    expect(conv1.samples).toBe(12);
    expect(conv1.quantizedLayer).toBeUndefined();
    expect(conv1.metrics.CosineSimilarity.mean).toBe(1);
    expect(conv1.metrics.MaxAbsoluteError.worst).toBe(0);
    expect(conv1.metrics.MeanAbsoluteError.mean).toBe(0);
    expect(conv1.metrics.SQNR.mean).toBe(Infinity);
    // one sample's slice: channels × 28 × 28 (conv1 pads to keep the size)
    expect(conv1.shape.slice(1)).toEqual([28, 28]);
    const conv2 = byName.get('/features/conv2/Conv_output_0')!;
    expect(conv2.quantizedLayer).toEqual({ name: '/features/conv2/Conv', opType: 'Conv' });
    expect(conv2.metrics.CosineSimilarity.mean).toBeLessThan(1);
    expect(conv2.metrics.CosineSimilarity.mean).toBeGreaterThan(0.99);
    expect(conv2.metrics.CosineSimilarity.worst).toBeLessThanOrEqual(conv2.metrics.CosineSimilarity.mean);
    expect(conv2.metrics.MeanAbsoluteError.mean).toBeGreaterThan(0);
    // the Q/DQ tensors exist only in the quantized model, the removed float weights are initializers (not compared)
    expect(r.onlyInQuant.some((n) => n.includes('QuantizeLinear_Output'))).toBe(true);
    expect(r.onlyInFloat).toEqual([]);
    expect(r.tensors.map((t) => t.name)).toEqual(matchTensors(float, quant).common);
    // the logits compare and carry the end-to-end error
    expect(byName.get('logits')!.metrics.CosineSimilarity.mean).toBeLessThan(1);
  });

  it('streaming in chunks of tensors gives the same numbers as one pass', async () => {
    const quant = makeTestQdqModel(float, ranges);
    const layers = readQdqLayers(quant).layers;
    const whole = await compareAccumulated(float, quant, layers, { batches });
    let calls = 0;
    const chunked = await compareAccumulated(float, quant, layers, { batches, maxTensorsPerRun: 3, onProgress: () => calls++ });
    expect(chunked.tensors).toEqual(whole.tensors);
    // 12 tensors in chunks of 3 over 2 batches → 8 steps (+ the initial 0)
    expect(calls).toBe(9);
  });

  it('comparison threads give the numbers of the calling thread alone, bit for bit', async () => {
    const quant = makeTestQdqModel(float, ranges);
    const layers = readQdqLayers(quant).layers;
    // whole batches (per-sample slices of one output) and one sample per run
    for (const bytesPerRun of [undefined, 1]) {
      const alone = await compareAccumulated(float, quant, layers, { batches, bytesPerRun, threads: 0 });
      const threaded = await compareAccumulated(float, quant, layers, { batches, bytesPerRun, threads: 2 });
      expect(threaded).toEqual(alone);
    }
  });

  it('Relu outputs read through the Relu from their inputs give the numbers of every tensor fetched from onnxruntime', async () => {
    const quant = makeTestQdqModel(float, ranges);
    const layers = readQdqLayers(quant).layers;
    const result = await compareAccumulated(float, quant, layers, { batches });
    const common = matchTensors(float, quant).common;
    const reluOutputs = float.graph.nodes.filter((n) => n.opType === 'Relu').map((n) => n.output[0]);
    expect(reluOutputs.filter((n) => common.includes(n)).length).toBeGreaterThan(0);
    // the reference: every compared tensor fetched, each sample compared on its own
    const acc = new Map(common.map((n) => [n, new MetricAccumulator()]));
    for (const b of batches) {
      const fo = await runExposed(float, b.feeds, common), qo = await runExposed(quant, b.feeds, common);
      for (const n of common) {
        const per = (fo[n].data as Float32Array).length / b.rows;
        b.indices.forEach((sample, r) => acc.get(n)!.add(compareTensors((qo[n].data as Float32Array).subarray(r * per, (r + 1) * per), (fo[n].data as Float32Array).subarray(r * per, (r + 1) * per)), sample));
      }
    }
    expect(result.tensors.map((t) => t.name)).toEqual(common);
    for (const t of result.tensors) expect(t.metrics, t.name).toEqual(acc.get(t.name)!.result());
  });

  it('a stream of samples, read anew from the data for each chunk of tensors, gives the numbers of batches held in memory', async () => {
    const quant = makeTestQdqModel(float, ranges);
    const layers = readQdqLayers(quant).layers;
    const held = await compareAccumulated(float, quant, layers, { batches });
    const opened = await openDataset(await datasetFromShortForm({ data: DATA, inputName: 'input' }), { inputs: [{ name: 'input', dims: ['batch', 1, 28, 28], type: 'float32' }] });
    let passes = 0;
    const counted: Dataset = { ...opened, batches: (o) => (passes++, opened.batches(o)) };
    const stream = await SampleStream.open(counted, 12, 6);
    expect([stream.samples, stream.first?.indices, stream.indices]).toEqual([12, [0, 1, 2, 3, 4, 5], undefined]);
    passes = 0;
    const progress: [number, number][] = [];
    const streamed = await compareAccumulated(float, quant, layers, { batches: stream, maxTensorsPerRun: 3, onProgress: (d, t) => progress.push([d, t]) });
    expect(streamed.tensors).toEqual(held.tensors);
    // 12 tensors in chunks of 3: four passes over the data, progress counted in samples
    expect(passes).toBe(4);
    expect(progress.at(-1)).toEqual([48, 48]);
    expect(stream.indices).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('keeps each run under the byte budget by running fewer samples and fewer tensors at a time, with the same numbers', async () => {
    const quant = makeTestQdqModel(float, ranges);
    const layers = readQdqLayers(quant).layers;
    const whole = await compareAccumulated(float, quant, layers, { batches });
    const steps: number[] = [];
    // a budget of one sample's worth of the largest tensor: one sample per run, and several chunks of tensors
    const tight = await compareAccumulated(float, quant, layers, { batches, bytesPerRun: 1, onProgress: (_d, total) => steps.push(total) });
    // onnxruntime's kernels round differently at another batch size: the same numbers up to float32 rounding
    // (which the relative errors, summed over values near zero, amplify)
    expect(tight.tensors.map((t) => [t.name, t.samples])).toEqual(whole.tensors.map((t) => [t.name, t.samples]));
    tight.tensors.forEach((t, i) => {
      for (const [k, m] of Object.entries(t.metrics)) {
        const w = whole.tensors[i].metrics[k as keyof typeof t.metrics].mean;
        expect(Math.abs(m.mean - w), `${t.name} ${k}`).toBeLessThanOrEqual(1e-2 * Math.max(1e-3, Math.abs(w)));
      }
    });
    const samples = batches.reduce((a, b) => a + b.indices.length, 0);
    expect(steps[0]).toBe(whole.tensors.length * samples); // each tensor alone, each sample alone
  });

  it.each([0, 1])("a Cancel arriving while a run's tensors are compared stops the comparison before that run ends (%i comparison threads)", async (threads) => {
    const quant = makeTestQdqModel(float, ranges);
    const ctl = new AbortController();
    const done: number[] = [];
    // The Cancel is an event-loop turn queued just before the quantized model's first run (as a message from the
    // app would be), two turns deep, so it lands after that run, while its tensors are being compared: it is seen
    // only if the comparison lets the event loop run between tensors.
    let armed = false, reads = 0;
    const watched = batches.map((b) => ({
      ...b,
      get feeds() {
        if (armed && ++reads === 2) setImmediate(() => setImmediate(() => ctl.abort()));
        return b.feeds;
      },
    }));
    const first = compareAccumulated(float, quant, readQdqLayers(quant).layers, {
      batches: watched, signal: ctl.signal, cancelSliceMs: 0, threads,
      onProgress: (d) => { done.push(d); armed = true; },
    });
    await expect(first).rejects.toThrow(/cancelled/);
    // no run was finished: the comparison stopped between two tensors of the first run
    expect(done).toEqual([0]);
  });

  it('the isolated pass riding on it (the twin run in place of the float model) gives the same numbers as each pass alone', async () => {
    const quant = makeTestQdqModel(float, ranges, { scaleFactor: { '/features/conv2/Conv': 0.2 } });
    const layers = readQdqLayers(quant).layers;
    const alone = await compareAccumulated(float, quant, layers, { batches });
    const isoAlone = await isolatedSensitivity(float, quant, layers, { batches });
    for (const bytesPerRun of [undefined, 1]) {
      // bytesPerRun 1: one sample per run and several chunks of tensors (the twin rides on the first)
      let twin: TwinPass | undefined;
      const ranksSeen: number[] = [];
      const both = await compareAccumulated(float, quant, layers, {
        batches, bytesPerRun,
        rider: async (ranks) => { ranksSeen.push(ranks.size); return (twin = await prepareTwinPass(float, quant, layers, { knownRanks: ranks })); },
      });
      expect(ranksSeen).toEqual([matchTensors(float, quant).common.length]);
      if (bytesPerRun === undefined) expect(both.tensors).toEqual(alone.tensors);
      else expect(both.tensors.map((t) => t.name)).toEqual(alone.tensors.map((t) => t.name));
      const iso = twin!.result();
      expect([...iso.byLayer.keys()]).toEqual([...isoAlone.byLayer.keys()]);
      for (const [name, r] of iso.byLayer) {
        const a = isoAlone.byLayer.get(name)!;
        expect(Math.abs(r.sensitivity - a.sensitivity), name).toBeLessThan(bytesPerRun ? 1e-6 : 1e-12);
        expect(r.worstSample, name).toBe(a.worstSample);
      }
    }
  });

  it('runs that write into the previous run\'s outputs (same rows) give each batch its own numbers', async () => {
    const quant = makeTestQdqModel(float, ranges);
    const layers = readQdqLayers(quant).layers;
    const both = await compareAccumulated(float, quant, layers, { batches });
    const [a, b] = await Promise.all(batches.map((x) => compareAccumulated(float, quant, layers, { batches: [x] })));
    both.tensors.forEach((t, i) => {
      for (const k of ['CosineSimilarity', 'MeanAbsoluteError', 'KullbackLeiblerDivergence'] as const) {
        const mean = (a.tensors[i].metrics[k].mean + b.tensors[i].metrics[k].mean) / 2;
        expect(Math.abs(t.metrics[k].mean - mean), `${t.name} ${k}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(mean)));
      }
      // the second batch's worst sample is its own, not the first batch's data again
      expect(b.tensors[i].metrics.MeanAbsoluteError.mean === a.tensors[i].metrics.MeanAbsoluteError.mean && b.tensors[i].metrics.MeanAbsoluteError.mean !== 0).toBe(false);
    });
  });

  it('stops when cancelled', async () => {
    const quant = makeTestQdqModel(float, ranges);
    const ctl = new AbortController();
    ctl.abort();
    await expect(compareAccumulated(float, quant, readQdqLayers(quant).layers, { batches, signal: ctl.signal })).rejects.toThrow(/cancelled/);
  });
});

describe('isolated sensitivity', () => {
  it('sensitivity rule: float all zero → 1, quantized all zero → 0', () => {
    expect(sensitivityFromSums(0, 0, 0)).toBe(1);
    expect(sensitivityFromSums(0, 1, 0)).toBe(1);
    expect(sensitivityFromSums(0, 0, 1)).toBe(0);
    expect(sensitivityFromSums(-1, 1, 1)).toBe(0);
    expect(sensitivityFromSums(1, 1, 1)).toBe(1);
    // the in-graph form from squared norms and the squared difference agrees with the dot-product form
    const x = [0.3, -1.2, 2.5], y = [0.31, -1.19, 2.45];
    const dot = x.reduce((s, v, i) => s + v * y[i], 0), xx = x.reduce((s, v) => s + v * v, 0), yy = y.reduce((s, v) => s + v * v, 0);
    const dd = x.reduce((s, v, i) => s + (v - y[i]) ** 2, 0);
    expect(cosineFromDiff(xx, yy, dd)).toBeCloseTo(dot / Math.sqrt(xx * yy), 14);
    expect(cosineFromDiff(0, 0, 0)).toBe(1);
    expect(cosineFromDiff(1, 0, 1)).toBeNaN();
  });

  it('twin numbers equal a one-layer-quantized model run separately', async () => {
    const quant = makeTestQdqModel(float, ranges, { scaleFactor: { '/features/conv2/Conv': 0.2 } });
    const layers = readQdqLayers(quant).layers;
    const iso = await isolatedSensitivity(float, quant, layers, { batches });
    expect(iso.failed).toEqual([]);
    expect([...iso.byLayer.keys()]).toEqual(layers.map((l) => l.name));
    for (const l of layers) {
      // reference: quantize only this layer with the independent builder, run the whole model, compare the layer output
      const one = makeTestQdqModel(float, ranges, { enabled: [l.name], scaleFactor: { '/features/conv2/Conv': 0.2 } });
      const q = (await runExposed(one, { input }, [l.outputTensor]))[l.outputTensor].data as Float32Array;
      const f = (await runExposed(float, { input }, [l.outputTensor]))[l.outputTensor].data as Float32Array;
      const per = f.length / 12;
      let sum = 0;
      for (let s = 0; s < 12; s++) {
        let dot = 0, xx = 0, yy = 0;
        for (let i = s * per; i < (s + 1) * per; i++) { dot += q[i] * f[i]; xx += q[i] * q[i]; yy += f[i] * f[i]; }
        sum += sensitivityFromSums(dot, xx, yy);
      }
      expect(Math.abs(iso.byLayer.get(l.name)!.sensitivity - sum / 12)).toBeLessThan(1e-5);
    }
    // a few samples per inference (as on real-size models): the same numbers, same worst samples
    let steps = 0;
    const split = await isolatedSensitivity(float, quant, layers, { batches, rowsPerRun: 4, onProgress: () => steps++ });
    expect(steps).toBe(batches.length + 1);
    for (const l of layers) {
      const a = split.byLayer.get(l.name)!, b = iso.byLayer.get(l.name)!;
      expect(Math.abs(a.sensitivity - b.sensitivity), l.name).toBeLessThan(1e-6);
      expect(a.worstSample).toBe(b.worstSample);
    }
    // the deliberately clipped layer is the most sensitive one
    const ranked = [...iso.byLayer].sort((a, b) => a[1].sensitivity - b[1].sensitivity);
    expect(ranked[0][0]).toBe('/features/conv2/Conv');
    expect(ranked[0][1].sensitivity).toBeLessThan(0.995);
  });

  it('with the real QDQ export: twin numbers equal a one-layer export run separately', async () => {
    const specs = [...ranges].map(([name, r]) => ({ name, activation: { scale: Math.max(r.max, -r.min) / 127, offset: 0 }, channelWise: true }));
    const quant = exportQdq(float, specs).model;
    const layers = readQdqLayers(quant).layers;
    expect(layers.map((l) => l.name)).toEqual(specs.map((s) => s.name));
    const iso = await isolatedSensitivity(float, quant, layers, { batches });
    expect(iso.failed).toEqual([]);
    for (const l of layers) {
      const one = exportQdq(float, specs.filter((s) => s.name === l.name)).model;
      const q = (await runExposed(one, { input }, [l.outputTensor]))[l.outputTensor].data as Float32Array;
      const f = (await runExposed(float, { input }, [l.outputTensor]))[l.outputTensor].data as Float32Array;
      const per = f.length / 12;
      let sum = 0;
      for (let s = 0; s < 12; s++) {
        let dot = 0, xx = 0, yy = 0;
        for (let i = s * per; i < (s + 1) * per; i++) { dot += q[i] * f[i]; xx += q[i] * q[i]; yy += f[i] * f[i]; }
        sum += sensitivityFromSums(dot, xx, yy);
      }
      expect(Math.abs(iso.byLayer.get(l.name)!.sensitivity - sum / 12)).toBeLessThan(1e-5);
    }
  });

});
