import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { QuantizeProgress, QuantStatsFile } from '../../shared/quant-types';
import { u8s8IsExact } from '../deploy/kernel-probe';
import { readNpy } from '../data/npy';
import { createSession, loadModel, ort, saveModel } from '../onnx';
import { readQdqLayers } from '../analyze/qdq-layers';
import { parseRecord } from './record';
import { quantizeModel, SATURATION_SAMPLES } from './quantize';

const ROOT = process.cwd();
const MODELS = join(ROOT, 'test/fixtures/models');
const tmp = mkdtempSync(join(tmpdir(), 'qtune-quantize-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Top-1 (percent) of a model file on an eval split, straight through ORT. */
export async function top1(modelPath: string, xPath: string, yPath: string, limit = 1000): Promise<number> {
  const x = await readNpy(xPath);
  const y = await readNpy(yPath);
  const n = Math.min(limit, x.shape[0]);
  const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const session = await createSession(loadModel(modelPath), { forComparison: false });
  const input = session.inputNames[0];
  let correct = 0;
  try {
    for (let s = 0; s < n; s += 250) {
      const m = Math.min(250, n - s);
      const feed = new ort.Tensor('float32', (x.data as Float32Array).slice(s * per, (s + m) * per), [m, ...x.shape.slice(1)]);
      const out = (await session.run({ [input]: feed }))[session.outputNames[0]].data as Float32Array;
      const k = out.length / m;
      for (let i = 0; i < m; i++) {
        let best = 0;
        for (let j = 1; j < k; j++) if (out[i * k + j] > out[i * k + best]) best = j;
        if (best === Number((y.data as BigInt64Array)[s + i])) correct++;
      }
    }
  } finally {
    await session.release();
  }
  return (100 * correct) / n;
}

const FIXTURES = [
  { model: 'lenet_mnist.onnx', data: 'mnist' },
  { model: 'mobilenetv2_fmnist.onnx', data: 'fmnist' },
  { model: 'sensitive_fmnist.onnx', data: 'fmnist' },
];

describe('quantizeModel', () => {
  for (const f of FIXTURES) {
    const modelPath = join(MODELS, f.model);
    it.runIf(existsSync(modelPath))(`${f.model}: writes the five files, the QDQ model runs, top-1 close to float`, async () => {
      const out = join(tmp, f.model);
      const data = (s: string) => join(ROOT, 'test/fixtures/data', f.data, `${s}.npy`);
      const r = await quantizeModel({
        modelPath, dataset: { data: data('calib_x') }, outDir: out, name: 'm', batchSize: 32,
        config: { version: 1, batch_num: 4 } as unknown as Record<string, unknown>,
      });
      expect(readdirSync(out).sort()).toEqual(['m_config.json', 'm_fused_float.onnx', 'm_quant_model.onnx', 'm_record.txt', 'm_stats.json']);
      // config with no layer entries enables nothing: every layer reports why
      expect(r.layers.every((l) => !l.enabled)).toBe(true);

      const stages = new Set<string>();
      const r2 = await quantizeModel({ modelPath, dataset: { data: data('calib_x') }, outDir: out, name: 'm', batchSize: 32, onProgress: (p) => stages.add(p.stage) });
      // 'ranges' runs only where the ort-cpu layout quantizes residual Adds or pooled outputs
      expect([...stages].filter((s) => s !== 'ranges')).toEqual(['load', 'fuse', 'calibrate', 'ifmr', 'export', 'write']);
      const enabled = r2.layers.filter((l) => l.enabled);
      expect(enabled.length).toBeGreaterThan(0);
      const quant = loadModel(r2.files.quantModel);
      expect(readQdqLayers(quant).layers.map((l) => l.name)).toEqual(enabled.map((l) => l.name));
      const record = parseRecord(readFileSync(r2.files.record, 'utf8'));
      expect(record.map((e) => e.layer)).toEqual(enabled.map((l) => l.name));
      const stats = JSON.parse(readFileSync(r2.files.stats, 'utf8')) as QuantStatsFile;
      expect(stats.layers).toHaveLength(enabled.length);
      for (const l of stats.layers) {
        expect(l.losses).toHaveLength(61);
        expect(l.histogram.counts).toHaveLength(256);
        expect(l.histogram.counts.reduce((a, b) => a + b, 0)).toBe(l.count);
        expect(l.clipMax).toBeGreaterThan(0);
      }
      const cfg = JSON.parse(readFileSync(r2.files.config, 'utf8'));
      expect(cfg.do_fusion).toBe(true);
      expect(cfg[enabled[0].name].activation_quant_params.asymmetric).toBe(true); // defaults written out

      const floatTop1 = await top1(modelPath, data('eval_x'), data('eval_y'));
      const fusedTop1 = await top1(r2.files.fusedFloatModel, data('eval_x'), data('eval_y'));
      const int8Top1 = await top1(r2.files.quantModel, data('eval_x'), data('eval_y'));
      console.log(`${f.model}: float top-1 ${floatTop1.toFixed(1)}%, fused ${fusedTop1.toFixed(1)}%, int8 ${int8Top1.toFixed(1)}% (1000 eval samples, batch_num 1 × 32)`);
      expect(fusedTop1).toBeCloseTo(floatTop1, 0);
      if (f.model !== 'sensitive_fmnist.onnx') expect(int8Top1).toBeGreaterThan(floatTop1 - 2);
    }, 120_000);
  }

  it('rejects a config made for another model, with suggestions, and leaves no output', async () => {
    const out = join(tmp, 'bad');
    await expect(quantizeModel({
      modelPath: join(MODELS, 'lenet_mnist.onnx'), dataset: { data: join(ROOT, 'test/fixtures/data/mnist/calib_x.npy') }, outDir: out, name: 'm', batchSize: 8,
      config: { '/features/conv1/Con': { quant_enable: true }, 'MobilenetV2/Conv/Conv2D': { quant_enable: true } },
    })).rejects.toThrow(/"\/features\/conv1\/Con" is not a quantizable layer of the model; closest: "\/features\/conv1\/Conv"/);
    expect(existsSync(out)).toBe(false);
  });

  it('upgrades an opset 11 model to 13 before export', async () => {
    const old = loadModel(join(MODELS, 'lenet_mnist.onnx'));
    old.setOpsetVersion(11);
    const path = join(tmp, 'lenet11.onnx');
    saveModel(old, path);
    const r = await quantizeModel({ modelPath: path, dataset: { data: join(ROOT, 'test/fixtures/data/mnist/calib_x.npy') }, outDir: join(tmp, 'up'), name: 'm', batchSize: 8 });
    expect(r.opsetUpgradedFrom).toBe(11);
    expect(loadModel(r.files.quantModel).opsetVersion('')).toBe(13);
  });

  it('a cancelled run leaves no output files', async () => {
    const out = join(tmp, 'cancel');
    const ac = new AbortController();
    await expect(quantizeModel({
      modelPath: join(MODELS, 'lenet_mnist.onnx'), dataset: { data: join(ROOT, 'test/fixtures/data/mnist/calib_x.npy') }, outDir: out, name: 'm', batchSize: 8,
      signal: ac.signal, onProgress: (p) => p.stage === 'ifmr' && ac.abort(),
    })).rejects.toMatchObject({ code: 'cancelled' });
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('a run cancelled while writing its outputs leaves the files of the earlier run as they were, and nothing half-written', async () => {
    const out = join(tmp, 'cancel-write');
    const base = { modelPath: join(MODELS, 'lenet_mnist.onnx'), dataset: { data: join(ROOT, 'test/fixtures/data/mnist/calib_x.npy') }, outDir: out, name: 'm', batchSize: 8, weights: 'int8' as const };
    const first = await quantizeModel(base);
    const before = Object.values(first.files).map((f) => readFileSync(f));
    const ac = new AbortController();
    const writes: number[] = [];
    // the abort lands between the two models: the fused float model is written, the quantized one not yet
    await expect(quantizeModel({
      ...base, config: { batch_num: 1, '/classifier/fc3/Gemm': { quant_enable: false } }, signal: ac.signal,
      onProgress: (p) => p.stage === 'write' && (writes.push(p.done), p.done === 1 && ac.abort()),
    })).rejects.toMatchObject({ code: 'cancelled' });
    expect(writes).toEqual([0, 1]);
    expect(readdirSync(out).sort()).toEqual(Object.values(first.files).map((f) => f.slice(out.length + 1)).sort());
    expect(Object.values(first.files).map((f) => readFileSync(f))).toEqual(before);
  });

  it('a run cancelled in its export stage leaves no output files either, and the stage reports its units', async () => {
    const out = join(tmp, 'cancel-export');
    const ac = new AbortController();
    const exportEvents: QuantizeProgress[] = [];
    await expect(quantizeModel({
      modelPath: join(MODELS, 'mobilenetv2_fmnist.onnx'), dataset: { data: join(ROOT, 'test/fixtures/data/fmnist/calib_x.npy') }, outDir: out, name: 'm', batchSize: 16,
      batchNum: 1, signal: ac.signal,
      onProgress: (p) => {
        if (p.stage !== 'export') return;
        exportEvents.push(p);
        if (p.done > 0) ac.abort(); // within the kernel check when this CPU needs one, else at the end of the stage
      },
    })).rejects.toMatchObject({ code: 'cancelled' });
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    const units = exportEvents.at(-1)!.total;
    // the kernel check, when it runs, is one unit per sample, and the abort stops it after the first
    if (!(await u8s8IsExact())) expect([units, exportEvents.at(-1)!.done]).toEqual([SATURATION_SAMPLES + 1, 1]);

    // a run killed while writing leaves its private folder behind: the next run of that name clears it
    mkdirSync(join(out, '.m.partial-killed'), { recursive: true });
    writeFileSync(join(out, '.m.partial-killed', 'm_quant_model.onnx'), 'half');
    await quantizeModel({ modelPath: join(MODELS, 'lenet_mnist.onnx'), dataset: { data: join(ROOT, 'test/fixtures/data/mnist/calib_x.npy') }, outDir: out, name: 'm', batchSize: 8 });
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
  }, 60_000);
});
