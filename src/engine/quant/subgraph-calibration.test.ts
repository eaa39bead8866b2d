import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../data/npy';
import { openDataFor } from '../data/for-model';
import { createSession, DT, exposeBodyTensors, findQuantizableLayers, loadModel, makeInt64Tensor, makeNode, makeTensor, makeValueInfo, ort, type GraphProto } from '../onnx';
import { modelOf, rng } from '../../../test/fixtures/quant/build-models';
import { exportQdq } from './qdq-export';
import { calibrate } from './calibrate';
import { createQuantConfig } from './config';
import { ifmrSearch } from './ifmr';

const MODELS = join(process.cwd(), 'test/fixtures/models');
const CALIB = join(process.cwd(), 'test/fixtures/data/mnist/calib_x.npy');
const IMAGE = 784;

function setup(file: string, batchNum: number) {
  const model = loadModel(join(MODELS, file));
  return { model, config: createQuantConfig(findQuantizableLayers(model).filter((l) => l.quantizable), { batchNum }) };
}

/** Which of the first n calibration samples take the then branch, as the model itself decides (its is_bright tensor). */
async function brightSamples(n: number): Promise<boolean[]> {
  const x = (await readNpy(CALIB)).data as Float32Array;
  const m = loadModel(join(MODELS, 'if_mnist.onnx'));
  m.graph.outputs.push({ name: 'is_bright', type: { tensorType: { elemType: 9 } } });
  const s = await createSession(m);
  try {
    const out: boolean[] = [];
    for (let i = 0; i < n; i++) {
      const r = await s.run({ input: new ort.Tensor('float32', x.subarray(i * IMAGE, (i + 1) * IMAGE), [1, 1, 28, 28]) }, ['is_bright']);
      out.push(Boolean(r.is_bright.data[0]));
    }
    return out;
  } finally {
    await s.release();
  }
}

describe('calibration inside control-flow bodies', () => {
  for (const method of ['stream', 'held'] as const) {
    it(`If (${method}): each branch's layers see exactly the samples that took it`, async () => {
      const { model, config } = setup('if_mnist.onnx', 16);
      const dataset = await openDataFor(model, { data: CALIB });
      const r = await calibrate(model, dataset, config, { batchSize: 1, method });
      const bright = await brightSamples(16);
      const nBright = bright.filter(Boolean).length;
      expect(nBright).toBeGreaterThan(0);
      expect(nBright).toBeLessThan(16);
      expect(r.noSamples).toBeUndefined();
      expect(r.layers.map((l) => l.name).sort()).toEqual(['branch/else_branch/conv', 'branch/else_branch/fc', 'branch/then_branch/conv1', 'branch/then_branch/conv2', 'branch/then_branch/fc']);
      const byName = new Map(r.layers.map((l) => [l.name, l]));
      // both first convs read the raw image: their values are the pixels of the samples in their branch
      const x = (await readNpy(CALIB)).data as Float32Array;
      for (const [name, taken] of [['branch/then_branch/conv1', true], ['branch/else_branch/conv', false]] as const) {
        const l = byName.get(name)!;
        expect(l.inputTensor).toBe('input'); // reported under the body's own tensor name
        const pixels = bright.flatMap((b, i) => (b === taken ? [x.subarray(i * IMAGE, (i + 1) * IMAGE)] : []));
        const ref = ifmrSearch(pixels, l.config.activation);
        expect(l.ifmr.count).toBe(pixels.length * IMAGE);
        expect(l.ifmr.scale).toBeCloseTo(ref.scale, 7);
        expect(l.ifmr.offset).toBe(ref.offset);
      }
      expect(byName.get('branch/then_branch/conv2')!.ifmr.count).toBe(nBright * 8 * 14 * 14);
      expect(byName.get('branch/else_branch/fc')!.ifmr.count).toBe((16 - nBright) * 4 * 12 * 12);
    }, 60_000);
  }

  it('If: a branch no calibration sample took is reported, and its layers are left out', async () => {
    const { model, config } = setup('if_mnist.onnx', 1);
    const dataset = await openDataFor(model, { data: CALIB });
    // one batch of 32: the batch's mean brightness picks one branch for all of it
    const r = await calibrate(model, dataset, config, { batchSize: 32 });
    const taken = r.layers[0].name.split('/')[1];
    expect(r.layers.every((l) => l.name.split('/')[1] === taken)).toBe(true);
    const other = taken === 'then_branch' ? 'else_branch' : 'then_branch';
    expect(r.noSamples!.map((n) => n.name).every((n) => n.startsWith(`branch/${other}/`))).toBe(true);
    expect(r.noSamples!.length).toBe(other === 'then_branch' ? 3 : 2);
    expect(r.noSamples![0].reason).toMatch(new RegExp(`no calibration sample reached it \\(branch/${other} was never executed`));
  }, 60_000);

  it('Loop: the body layer sees every iteration of every sample', async () => {
    const { model, config } = setup('loop_mnist.onnx', 2);
    const dataset = await openDataFor(model, { data: CALIB });
    const r = await calibrate(model, dataset, config, { batchSize: 4 });
    const body = r.layers.find((l) => l.name === 'refine/body/conv')!;
    expect(body.inputTensor).toBe('h_in');
    expect(body.ifmr.count).toBe(3 * 8 * 8 * 14 * 14); // 3 iterations × 8 samples × [8, 14, 14]
    // reference: the same tensor exposed and run on the same 8 samples in one go
    const exposed = exposeBodyTensors(model, [{ scope: 'refine/body', tensor: 'h_in' }]);
    const out = exposed.outputs.get('refine/body\u0000h_in')!;
    const s = await createSession(exposed.model);
    const x = (await readNpy(CALIB)).data as Float32Array;
    const v = (await s.run({ input: new ort.Tensor('float32', x.subarray(0, 8 * IMAGE), [8, 1, 28, 28]) }, [out]))[out];
    await s.release();
    expect(v.dims).toEqual([3, 8, 8, 14, 14]);
    const ref = ifmrSearch(v.data as Float32Array, body.config.activation);
    expect(body.ifmr.scale).toBeCloseTo(ref.scale, 7);
    expect(body.ifmr.offset).toBe(ref.offset);
  }, 60_000);
});

describe('a Scan body', () => {
  // Y = Scan over the 4 time steps of X [N, 4, 8]: s ← Relu(x_t · W + s), from s0 = X[:, 0] · W0; W is an outer initializer
  function scanModel() {
    const r = rng(3);
    const w = (n: number) => Float32Array.from({ length: n }, () => r() - 0.5);
    const body: GraphProto = {
      name: 'step',
      node: [
        makeNode('MatMul', ['x_t', 'W'], ['mm_out'], { name: 'mm' }),
        makeNode('Add', ['mm_out', 's_in'], ['sum'], { name: 'add' }),
        makeNode('Relu', ['sum'], ['s_out'], { name: 'relu' }),
        makeNode('Identity', ['s_out'], ['y_t'], { name: 'emit' }),
      ],
      initializer: [],
      input: [makeValueInfo('s_in', DT.FLOAT, ['N', 16]), makeValueInfo('x_t', DT.FLOAT, ['N', 8])],
      output: [makeValueInfo('s_out', DT.FLOAT, ['N', 16]), makeValueInfo('y_t', DT.FLOAT, ['N', 16])],
      valueInfo: [], sparseInitializer: [], quantizationAnnotation: [],
    };
    return modelOf([
      makeNode('Gather', ['x', 'zero'], ['x0'], { name: 'first_step', attrs: { axis: 1 } }),
      makeNode('MatMul', ['x0', 'W0'], ['s0'], { name: 'start' }),
      makeNode('Scan', ['s0', 'x'], ['s_final', 'y'], { name: 'scan', attrs: { body, num_scan_inputs: 1, scan_input_axes: [1] } }),
    ], [makeTensor('W', [8, 16], w(128)), makeTensor('W0', [8, 16], w(128)), makeInt64Tensor('zero', [0], [])], { name: 'x', shape: ['N', 4, 8] }, ['s_final']);
  }

  it('its layer is listed, calibrated over every time step, and quantized inside the body', async () => {
    const model = scanModel();
    const layers = findQuantizableLayers(model);
    expect(layers.map((l) => [l.name, l.quantizable])).toEqual([['start', true], ['scan/body/mm', true]]);
    const x = Float32Array.from({ length: 8 * 32 }, (_, i) => Math.sin(i * 0.7) * 2);
    const dir = mkdtempSync(join(tmpdir(), 'qtune-scan-'));
    await writeNpy(join(dir, 'x.npy'), { dtype: 'float32', shape: [8, 4, 8], data: x });
    const dataset = await openDataFor(model, { data: join(dir, 'x.npy') });
    const config = createQuantConfig(layers.filter((l) => l.quantizable), { batchNum: 2 });
    const r = await calibrate(model, dataset, config, { batchSize: 4 });
    const body = r.layers.find((l) => l.name === 'scan/body/mm')!;
    // x_t over every step of every sample is all of x
    expect(body.ifmr.count).toBe(x.length);
    const ref = ifmrSearch(x, body.config.activation);
    expect(body.ifmr.scale).toBeCloseTo(ref.scale, 7);
    const q = exportQdq(model, r.layers.map((l) => ({ name: l.name, activation: { scale: l.ifmr.scale, offset: l.ifmr.offset }, channelWise: true })));
    const scan = q.model.graph.nodes.find((n) => n.opType === 'Scan')!;
    expect(scan.attribute.find((a) => a.name === 'body')!.g!.node.some((n) => n.opType === 'QuantizeLinear')).toBe(true);
    const feed = { x: new ort.Tensor('float32', x.subarray(0, 4 * 32), [4, 4, 8]) };
    const run = async (m: typeof model) => {
      const s = await createSession(m);
      try { return (await s.run(feed)).s_final.data as Float32Array; } finally { await s.release(); }
    };
    const f = await run(model), qv = await run(q.model);
    const err = qv.reduce((m, v, i) => Math.max(m, Math.abs(v - f[i])), 0) / f.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(err).toBeLessThan(0.05);
    expect(err).toBeGreaterThan(0);
  });
});
