import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { QuantizeProgress } from '../../shared/quant-types';
import { readNpy, writeNpy } from '../data/npy';
import { loadModel, ort, runExposed } from '../onnx';
import { calibrate, enabledLayers, planGroups } from './calibrate';
import { openDataFor } from '../data/for-model';
import { createQuantConfig } from './config';
import { ifmrSearch } from './ifmr';
import { tensorsNeedingRanges } from './qdq-plan';
import { measureRanges } from './tensor-ranges';
import { findQuantizableLayers } from '../onnx';

// the models calibration opens sessions on, to see what its passes compute
const sessionModels = vi.hoisted(() => [] as { graph: { nodes: { opType?: string; output: string[] }[] } }[]);
vi.mock('../onnx', async (importOriginal) => {
  const m = await importOriginal<typeof import('../onnx')>();
  return {
    ...m,
    createSession: (model: Parameters<typeof m.createSession>[0], opts?: Parameters<typeof m.createSession>[1]) => {
      if (typeof model === 'object' && 'graph' in model) sessionModels.push(model);
      return m.createSession(model, opts);
    },
  };
});
// refined sums that cannot part two candidates (a tie within round-off) are rare on real data: `refuse` makes
// every refiner hand its layer on, to see those layers measured in the graph instead
const refuse = vi.hoisted(() => ({ on: false, moved: 0 }));
vi.mock('./candidate-refiner', async (importOriginal) => {
  const m = await importOriginal<typeof import('./candidate-refiner')>();
  class Refusing extends m.CandidateRefiner {
    // `moved`: that many refiners act as if the pruned second pass had put values in other bins than pass 1
    private readonly moved = refuse.moved > 0 && refuse.moved-- > 0;
    override consistent() {
      return !this.moved && super.consistent();
    }
    override result() {
      return refuse.on ? undefined : super.result();
    }
  }
  return { ...m, CandidateRefiner: Refusing };
});
/** Sessions that hold float64 copies of activations (the in-graph exact losses). */
const float64Sessions = () => sessionModels.filter((m) => m.graph.nodes.some((n) => n.opType === 'Cast' && n.output[0]?.startsWith('__qtune_r'))).length;

const LENET = join(process.cwd(), 'test/fixtures/models/lenet_mnist.onnx');
const CALIB = join(process.cwd(), 'test/fixtures/data/mnist/calib_x.npy');
const tmp = mkdtempSync(join(tmpdir(), 'qtune-calib-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function lenetConfig(batchNum: number) {
  const model = loadModel(LENET);
  const layers = findQuantizableLayers(model).filter((l) => l.quantizable);
  return { model, config: createQuantConfig(layers, { batchNum }) };
}

describe('calibrate', () => {
  it('collects every enabled layer input over batch_num batches and runs IFMR on exactly that data', async () => {
    const { model, config } = lenetConfig(3);
    const dataset = await openDataFor(model, { data: CALIB });
    const events: QuantizeProgress[] = [];
    const r = await calibrate(model, dataset, config, { batchSize: 8, onProgress: (p) => events.push(p) });
    expect(r.samples).toBe(24);
    expect(r.passes).toBe(1);
    expect(r.layers.map((l) => l.name)).toEqual(enabledLayers(model, config).map((l) => l.name));
    expect(r.layers).toHaveLength(7); // 2 Conv, 2 AveragePool, 3 Gemm
    // reference: the same 24 samples in one ORT run, IFMR on each layer input
    const x = await readNpy(CALIB);
    const feed = new ort.Tensor('float32', (x.data as Float32Array).subarray(0, 24 * 784), [24, 1, 28, 28]);
    const tensors = r.layers.map((l) => l.inputTensor).filter((t) => t !== 'input');
    const acts = await runExposed(model, { input: feed }, tensors);
    for (const l of r.layers) {
      const data = l.inputTensor === 'input' ? (feed.data as Float32Array) : (acts[l.inputTensor].data as Float32Array);
      const ref = ifmrSearch(data, l.config.activation);
      expect(l.ifmr.count).toBe(data.length);
      expect(Math.abs(l.ifmr.scale - ref.scale) / ref.scale).toBeLessThan(1e-5);
      expect(l.ifmr.offset).toBe(ref.offset);
      expect(l.ifmr.approximate).toBe(false);
      expect(l.stats.histogram.counts.reduce((a, b) => a + b, 0)).toBe(data.length);
    }
    const cal = events.filter((e) => e.stage === 'calibrate');
    // announced before its session is built, then one report per run
    expect(cal.map((e) => e.done)).toEqual([0, 1, 2, 3]);
    expect(cal.every((e) => e.total === 3 && e.passes === 1)).toBe(true);
    const ifmr = events.filter((e) => e.stage === 'ifmr' && e.done > 0);
    expect([...new Set(ifmr.map((e) => e.done))]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(ifmr.every((e) => e.total === 7 && e.layer)).toBe(true);
  });

  it('held method: splits layers into several passes under a small budget, and falls back to the histogram for an oversized layer', async () => {
    const { model, config } = lenetConfig(2);
    const full = await calibrate(model, await openDataFor(model, { data: CALIB }), config, { batchSize: 4, method: 'held' });
    // the input (784 floats × 8 samples × 4 bytes = 25 KiB) exceeds 20 KB alone; the others fit in groups
    const events: QuantizeProgress[] = [];
    const small = await calibrate(model, await openDataFor(model, { data: CALIB }), config, {
      batchSize: 4, memoryBudgetBytes: 20000, method: 'held', onProgress: (p) => events.push(p),
    });
    expect(small.passes).toBeGreaterThan(2);
    expect(Math.max(...events.filter((e) => e.stage === 'calibrate').map((e) => e.pass ?? 0))).toBe(small.passes);
    for (let i = 0; i < full.layers.length; i++) {
      const a = full.layers[i], b = small.layers[i];
      const oversized = a.ifmr.count * 4 > 20000;
      expect(b.ifmr.approximate).toBe(oversized);
      if (oversized) expect(Math.abs(b.ifmr.scale - a.ifmr.scale) / a.ifmr.scale).toBeLessThan(0.005);
      else expect(b.ifmr.scale).toBe(a.ifmr.scale);
      expect(b.stats.min).toBe(a.stats.min);
      expect(b.stats.max).toBe(a.stats.max);
    }
    expect(small.layers.some((l) => l.ifmr.approximate)).toBe(true);
  });

  it('errors before any work when there are too few samples, stops on abort, and names a layer with NaN input', async () => {
    const { model, config } = lenetConfig(40);
    const events: QuantizeProgress[] = [];
    await expect(calibrate(model, await openDataFor(model, { data: CALIB }), config, { batchSize: 8, onProgress: (p) => events.push(p) }))
      .rejects.toThrow(/40 × 8 = 320 samples, but the data has 256/);
    expect(events).toHaveLength(0);

    const ac = new AbortController();
    const cfg2 = lenetConfig(4).config;
    await expect(calibrate(model, await openDataFor(model, { data: CALIB }), cfg2, {
      batchSize: 8, signal: ac.signal, onProgress: (p) => p.done === 1 && ac.abort(),
    })).rejects.toMatchObject({ code: 'cancelled' });

    const x = await readNpy(CALIB);
    const data = Float32Array.from((x.data as Float32Array).subarray(0, 8 * 784));
    data[100] = NaN;
    const bad = join(tmp, 'nan.npy');
    await writeNpy(bad, { dtype: 'float32', shape: [8, 1, 28, 28], data });
    await expect(calibrate(model, await openDataFor(model, { data: bad }), lenetConfig(1).config, { batchSize: 8 }))
      .rejects.toThrow(/Layer "\/features\/conv1\/Conv" has NaN/);

    const wrong = join(tmp, 'wrong.npy');
    await writeNpy(wrong, { dtype: 'float32', shape: [8, 1, 14, 14], data: new Float32Array(8 * 196) });
    await expect(openDataFor(model, { data: wrong })).rejects.toThrow(/\[8, 1, 14, 14\]|\[1, 14, 14\]/);
  });

  it('streams: the same choice as the held (sort-based) method on every fixture, sym/asym, with near-ties measured exactly', async () => {
    const cases: { model: string; data: string; batchNum: number; tweak: object; refuse?: boolean }[] = [
      { model: 'lenet_mnist.onnx', data: 'mnist', batchNum: 2, tweak: {} },
      { model: 'mobilenetv2_fmnist.onnx', data: 'fmnist', batchNum: 2, tweak: { asymmetric: true } },
      { model: 'sensitive_fmnist.onnx', data: 'fmnist', batchNum: 1, tweak: { asymmetric: false, max_percentile: 0.9999 } },
      // candidates 0.0002 apart: neighbours nearly tie, so the streaming method needs its exact second pass
      { model: 'sensitive_fmnist.onnx', data: 'fmnist', batchNum: 1, tweak: { search_range: [0.98, 1.02], search_step: 0.0002 } },
      { model: 'mobilenetv2_fmnist.onnx', data: 'fmnist', batchNum: 2, tweak: { search_range: [0.9, 1.1], search_step: 0.0005, asymmetric: true } },
      // the same, as if the refined sums could not part the candidates: measured in the graph
      { model: 'mobilenetv2_fmnist.onnx', data: 'fmnist', batchNum: 2, tweak: { search_range: [0.9, 1.1], search_step: 0.0005, asymmetric: true }, refuse: true },
    ];
    let secondPasses = 0;
    let inGraphPasses = 0;
    for (const c of cases) {
      const model = loadModel(join(process.cwd(), 'test/fixtures/models', c.model));
      const layers = findQuantizableLayers(model).filter((l) => l.quantizable);
      const config = createQuantConfig(layers, { batchNum: c.batchNum });
      for (const l of Object.values(config.layers)) Object.assign(l.activation_quant_params ?? {}, c.tweak);
      const data = join(process.cwd(), 'test/fixtures/data', c.data, 'calib_x.npy');
      const opts = { batchSize: 32, optimize: false } as const;
      const held = await calibrate(model, await openDataFor(model, { data }), config, { ...opts, method: 'held' });
      sessionModels.length = 0;
      refuse.on = !!c.refuse;
      const streamed = await calibrate(model, await openDataFor(model, { data }), config, opts).finally(() => (refuse.on = false));
      secondPasses += Math.min(1, streamed.passes - 1);
      // the second pass sums crossed-bin values in JavaScript; float64 copies inside the graph (whose memory grows
      // with the layers and candidates left open) only for exact ties, a few layers per pass
      expect(float64Sessions()).toBe(Math.max(0, streamed.passes - 2));
      inGraphPasses += float64Sessions();
      expect(streamed.layers.map((l) => l.name)).toEqual(held.layers.map((l) => l.name));
      streamed.layers.forEach((s, i) => {
        const h = held.layers[i];
        expect({ layer: s.name, best: s.ifmr.bestIndex, maxInit: s.ifmr.maxInit, minInit: s.ifmr.minInit, offset: s.ifmr.offset })
          .toEqual({ layer: h.name, best: h.ifmr.bestIndex, maxInit: h.ifmr.maxInit, minInit: h.ifmr.minInit, offset: h.ifmr.offset });
        expect(Math.abs(s.ifmr.scale - h.ifmr.scale) / h.ifmr.scale).toBeLessThan(1e-12);
        expect(s.ifmr.approximate).toBe(false);
        expect(s.stats.count).toBe(h.stats.count);
        expect([s.stats.min, s.stats.max]).toEqual([h.stats.min, h.stats.max]);
        expect(s.stats.histogram.counts.reduce((a, b) => a + b, 0)).toBe(h.stats.count);
      });
    }
    expect(secondPasses).toBeGreaterThan(1);
    expect(inGraphPasses).toBeGreaterThan(0);
  }, 240_000);

  it('folds on threads exactly what it folds in-thread, and hears Cancel while threads fold', async () => {
    const model = loadModel(join(process.cwd(), 'test/fixtures/models/mobilenetv2_fmnist.onnx'));
    const config = createQuantConfig(findQuantizableLayers(model).filter((l) => l.quantizable), { batchNum: 4 });
    const data = join(process.cwd(), 'test/fixtures/data/fmnist/calib_x.npy');
    const run = async (foldThreads: number) => calibrate(model, await openDataFor(model, { data }), config, { batchSize: 32, foldThreads });
    const inThread = await run(0);
    const threaded = await run(2);
    expect(threaded.layers.length).toBeGreaterThan(10);
    expect(threaded.layers.map((l) => ({ name: l.name, ifmr: l.ifmr, stats: l.stats }))).toEqual(inThread.layers.map((l) => ({ name: l.name, ifmr: l.ifmr, stats: l.stats })));
    expect(threaded.passes).toBe(inThread.passes);

    const ac = new AbortController();
    await expect(calibrate(model, await openDataFor(model, { data }), config, {
      batchSize: 32, foldThreads: 2, signal: ac.signal, onProgress: (p) => p.pass === 1 && p.done === 2 && ac.abort(),
    })).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('refines on the very activations it summarised, also with graph optimisations on and extra range outputs', async () => {
    // a second session over another graph may be optimised differently and give values a rounding apart, which
    // would land some in other bins than the summary counted: the second pass reuses the summary's session
    const model = loadModel(join(process.cwd(), 'test/fixtures/models/mobilenetv2_fmnist.onnx'));
    const layers = findQuantizableLayers(model).filter((l) => l.quantizable);
    const config = createQuantConfig(layers, { batchNum: 2 });
    for (const l of Object.values(config.layers)) Object.assign(l.activation_quant_params ?? {}, { search_range: [0.9, 1.1], search_step: 0.0005, asymmetric: true });
    const data = join(process.cwd(), 'test/fixtures/data/fmnist/calib_x.npy');
    sessionModels.length = 0;
    const opts = { batchSize: 32, rangeTensors: tensorsNeedingRanges(model, layers) };
    const r = await calibrate(model, await openDataFor(model, { data }), config, opts);
    expect(r.passes).toBe(2);
    // the summary pass's graph, then the second pass's: that graph cut after the last open layer's input
    expect(sessionModels).toHaveLength(2);
    const [first, second] = sessionModels;
    expect(second.graph.nodes.length).toBeLessThan(first.graph.nodes.length);
    const logits = model.graph.outputs[0].name;
    expect(first.graph.nodes.some((n) => n.output.includes(logits!))).toBe(true);
    expect(second.graph.nodes.some((n) => n.output.includes(logits!))).toBe(false);
    expect(float64Sessions()).toBe(0);

    // a layer whose re-counted bins differ is refined once more on the summary pass's own session, to the same result
    sessionModels.length = 0;
    refuse.moved = 1;
    const again = await calibrate(model, await openDataFor(model, { data }), config, opts).finally(() => (refuse.moved = 0));
    expect(again.passes).toBe(3);
    expect(sessionModels).toHaveLength(2);
    expect(float64Sessions()).toBe(0);
    expect(again.layers.map((l) => l.ifmr)).toEqual(r.layers.map((l) => l.ifmr));
  });

  it('hears Cancel between the runs of the exact second pass', async () => {
    const model = loadModel(join(process.cwd(), 'test/fixtures/models/mobilenetv2_fmnist.onnx'));
    const config = createQuantConfig(findQuantizableLayers(model).filter((l) => l.quantizable), { batchNum: 2 });
    for (const l of Object.values(config.layers)) Object.assign(l.activation_quant_params ?? {}, { search_range: [0.9, 1.1], search_step: 0.0005, asymmetric: true });
    const data = join(process.cwd(), 'test/fixtures/data/fmnist/calib_x.npy');
    const ac = new AbortController();
    const second: QuantizeProgress[] = [];
    await expect(calibrate(model, await openDataFor(model, { data }), config, {
      batchSize: 32, signal: ac.signal, onProgress: (p) => p.pass === 2 && (second.push(p), ac.abort()),
    })).rejects.toMatchObject({ code: 'cancelled' });
    expect(second).toHaveLength(1);
    expect(second[0].total).toBeGreaterThan(second[0].done);
  });

  it('measures the export\'s extra tensor ranges within the streaming pass, equal to the separate range pass; the held method leaves them to it', async () => {
    const model = loadModel(join(process.cwd(), 'test/fixtures/models/mobilenetv2_fmnist.onnx'));
    const layers = findQuantizableLayers(model).filter((l) => l.quantizable);
    const config = createQuantConfig(layers, { batchNum: 2 });
    const rangeTensors = tensorsNeedingRanges(model, layers);
    expect(rangeTensors.length).toBeGreaterThan(3); // residual Add inputs and the pooled output
    const data = join(process.cwd(), 'test/fixtures/data/fmnist/calib_x.npy');
    const streamed = await calibrate(model, await openDataFor(model, { data }), config, { batchSize: 16, rangeTensors });
    const separate = await measureRanges(model, await openDataFor(model, { data }), rangeTensors, { batchSize: 16, batches: 2 });
    expect(streamed.ranges).toEqual(separate);
    expect(separate.size).toBe(rangeTensors.length);
    const held = await calibrate(model, await openDataFor(model, { data }), config, { batchSize: 16, rangeTensors, method: 'held' });
    expect(held.ranges).toBeUndefined();
  }, 60_000);

  it('calibrates a config whose only layer reads a graph input, with either method', async () => {
    const { model } = lenetConfig(1);
    const stem = findQuantizableLayers(model).filter((l) => l.quantizable && l.inputTensor === 'input');
    expect(stem.length).toBeGreaterThan(0);
    const config = createQuantConfig(stem, { batchNum: 1 });
    for (const method of ['stream', 'held'] as const) {
      const r = await calibrate(model, await openDataFor(model, { data: CALIB }), config, { batchSize: 8, method });
      expect(r.layers.map((l) => l.name)).toEqual(stem.map((l) => l.name));
      expect(r.layers[0].ifmr.count).toBe(8 * 784);
    }
  });

  it('planGroups packs tensors under the budget and sets the oversized apart', () => {
    const p = planGroups(new Map([['a', 60], ['b', 50], ['c', 40], ['d', 200]]), 100);
    expect(p.oversized).toEqual(['d']);
    expect(p.groups).toEqual([['a', 'c'], ['b']]);
  });
});
