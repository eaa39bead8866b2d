import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DT, attrInt, attrInts, createSession, findQuantizableLayers, loadModel, ort, runExposed, serializeModel, tensorDims, tensorToFloat32, tensorToTypedArray, type OnnxModel } from '../onnx';
import { randomTensor, maxRelativeError } from '../onnx/testing';
import { makeAllOpsModel } from '../../../test/fixtures/quant/build-models';
import { dequantizeValue, fakeQuantize } from './fake-quant';
import { ifmrSearch, DEFAULT_IFMR_PARAMS } from './ifmr';
import { exportQdq, exportQdqSteps, type QdqLayerSpec } from './qdq-export';

const LENET = join(process.cwd(), 'test/fixtures/models/lenet_mnist.onnx');

async function run(model: OnnxModel, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const s = await createSession(model);
  try {
    return (await s.run(feeds)) as Record<string, ort.Tensor>;
  } finally {
    await s.release();
  }
}

/** Dequantized weights (or bias) of a layer input in a QDQ model, computed from the stored integers and scales. */
function dequantizedConstant(model: OnnxModel, dqOutput: string): { values: Float32Array; dims: number[] } {
  const idx = model.graph.index();
  const dq = idx.producers.get(dqOutput)!;
  expect(dq.opType).toBe('DequantizeLinear');
  const q = idx.initializers.get(dq.input[0])!;
  const s = tensorToFloat32(idx.initializers.get(dq.input[1])!);
  const ints = tensorToTypedArray(q) as Int8Array | Int32Array;
  const dims = tensorDims(q);
  const axis = s.length > 1 ? attrInt(dq, 'axis', 1) : null;
  let inner = 1;
  if (axis !== null) for (let d = axis + 1; d < dims.length; d++) inner *= dims[d];
  const values = Float32Array.from(ints, (v, i) => dequantizeValue(v, s[axis === null ? 0 : Math.floor(i / inner) % dims[axis]], 0));
  return { values, dims };
}

/** Plain 2-D convolution in float64 (NCHW, OIHW), the reference for ORT's output. */
function conv2d(x: Float32Array, xd: number[], w: Float32Array, wd: number[], b: Float32Array | undefined, pads: number[], strides: number[], group: number): { y: Float64Array; dims: number[] } {
  const [n, c, h, wi] = xd;
  const [o, cg, kh, kw] = wd;
  const oh = Math.floor((h + pads[0] + pads[2] - kh) / strides[0]) + 1;
  const ow = Math.floor((wi + pads[1] + pads[3] - kw) / strides[1]) + 1;
  const y = new Float64Array(n * o * oh * ow);
  const og = o / group;
  for (let ni = 0; ni < n; ni++)
    for (let oc = 0; oc < o; oc++) {
      const gi = Math.floor(oc / og);
      for (let yy = 0; yy < oh; yy++)
        for (let xx = 0; xx < ow; xx++) {
          let acc = b ? b[oc] : 0;
          for (let ic = 0; ic < cg; ic++) {
            const cin = gi * cg + ic;
            for (let ky = 0; ky < kh; ky++) {
              const iy = yy * strides[0] - pads[0] + ky;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = xx * strides[1] - pads[1] + kx;
                if (ix < 0 || ix >= wi) continue;
                acc += x[((ni * c + cin) * h + iy) * wi + ix] * w[((oc * cg + ic) * kh + ky) * kw + kx];
              }
            }
          }
          y[((ni * o + oc) * oh + yy) * ow + xx] = acc;
        }
    }
  return { y, dims: [n, o, oh, ow] };
}

function maxRel(actual: Float32Array, expected: Float64Array): number {
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  // relative error, floored at 1% of the largest value: near-zero sums carry float32 rounding of their (larger) terms
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), scale * 1e-2));
  return worst;
}

describe('exportQdq', () => {
  it('wraps every quantizable op in Q/DQ, keeps tensor names, and runs in ORT close to float', async () => {
    const float = makeAllOpsModel();
    const names = ['conv', 'pool', 'deconv', 'matmul', 'gemm'];
    // activation scales from the float activations of one random batch (IFMR), weights by ARQ
    const x = randomTensor([4, 2, 6, 6], 2);
    const idx = float.graph.index();
    const inputs = names.map((n) => idx.producers.get(float.graph.getNode(n)!.input[0])?.output[0] ?? 'x');
    const acts = await runExposed(float, { x }, inputs.filter((t) => t !== 'x'));
    acts.x = x;
    const specs: QdqLayerSpec[] = names.map((name, i) => {
      const r = ifmrSearch(acts[inputs[i]].data as Float32Array, { ...DEFAULT_IFMR_PARAMS, asymmetric: i % 2 === 0 });
      return { name, activation: { scale: r.scale, offset: r.offset }, channelWise: true };
    });
    const { model, layers } = exportQdq(float, specs, { target: 'generic-qdq' });
    expect(float.graph.nodes.some((n) => n.opType === 'QuantizeLinear')).toBe(false); // input untouched
    const ops = model.graph.nodes.map((n) => n.opType);
    expect(ops.filter((o) => o === 'QuantizeLinear')).toHaveLength(5);
    expect(ops.filter((o) => o === 'DequantizeLinear')).toHaveLength(5 + 4 + 3); // activations, weights, biases
    // layer outputs keep their names; derived names for new tensors
    const conv = model.graph.getNode('conv')!;
    expect(conv.input[0]).toBe('x_DequantizeLinear_Output');
    expect(conv.output[0]).toBe('c');
    const wq = model.graph.getInitializer('wc_quantized')!;
    expect(wq.dataType).toBe(DT.INT8);
    expect(model.graph.getInitializer('bc_quantized')!.dataType).toBe(DT.INT32);
    expect(model.graph.getInitializer('wc')).toBeUndefined(); // the float weight is gone
    expect(layers.find((l) => l.name === 'conv')!.weightAxis).toBe(0);
    expect(layers.find((l) => l.name === 'deconv')!.weightAxis).toBe(1);
    expect(layers.find((l) => l.name === 'deconv')!.scaleW).toHaveLength(3);
    expect(layers.find((l) => l.name === 'matmul')!.weightAxis).toBeNull();
    expect(layers.find((l) => l.name === 'pool')!.scaleW).toEqual([1]);
    const fo = await run(float, { x });
    const qo = await run(model, { x });
    // int8 everywhere on a tiny random model: close to float in the L2 sense, but not equal
    const a = qo.out.data as Float32Array, f = fo.out.data as Float32Array;
    let num = 0, den = 0;
    for (let i = 0; i < f.length; i++) { num += (a[i] - f[i]) ** 2; den += f[i] ** 2; }
    expect(Math.sqrt(num / den)).toBeLessThan(0.05);
    expect(maxRelativeError(qo.out, fo.out)).toBeGreaterThan(0);
  });

  it('rejects opset < 13 and an unknown or unquantizable layer', () => {
    const m = makeAllOpsModel();
    expect(() => exportQdq(m, [{ name: 'nope', activation: { scale: 0.1, offset: 0 }, channelWise: true }])).toThrow(/nope/);
    expect(() => exportQdq(m, [{ name: 'relu', activation: { scale: 0.1, offset: 0 }, channelWise: true }])).toThrow(/relu/);
    m.setOpsetVersion(10);
    expect(() => exportQdq(m, [])).toThrow(/opset 10/);
  });

  it.runIf(existsSync(LENET))('simulation check: the engine\'s int8 arithmetic equals ORT on lenet conv1 and fc3', async () => {
    const float = loadModel(LENET);
    const input = randomTensor([2, 1, 28, 28], 21);
    const inputData = Float32Array.from(input.data as Float32Array, (v) => (v + 1) / 2); // [0, 1) like pixels
    const feeds = { input: new ort.Tensor('float32', inputData, [2, 1, 28, 28]) };
    const fcIn = '/classifier/relu4/Relu_output_0';
    const acts = await runExposed(float, feeds, [fcIn]);
    const sIn = ifmrSearch(inputData, { ...DEFAULT_IFMR_PARAMS, asymmetric: true });
    const sFc = ifmrSearch(acts[fcIn].data as Float32Array, { ...DEFAULT_IFMR_PARAMS, asymmetric: true });
    expect(sIn.offset).not.toBe(0);
    const { model, layers } = exportQdq(float, [
      { name: '/features/conv1/Conv', activation: { scale: sIn.scale, offset: sIn.offset }, channelWise: true },
      { name: '/classifier/fc3/Gemm', activation: { scale: sFc.scale, offset: sFc.offset }, channelWise: false },
    ]);
    const conv = model.graph.getNode('/features/conv1/Conv')!;
    const fc = model.graph.getNode('/classifier/fc3/Gemm')!;
    // ORT's view: the layer inputs (float, before Q) and outputs of the QDQ model
    const q = await runExposed(model, feeds, [conv.output[0], fcIn, fc.output[0]]);

    // conv1: fake-quant input, dequantized int8 weights and int32 bias, convolution in JS
    const l0 = layers[0];
    const xq = fakeQuantize(inputData, l0.scaleD, l0.offsetD);
    const w = dequantizedConstant(model, conv.input[1]);
    const b = dequantizedConstant(model, conv.input[2]);
    const pads = attrInts(conv, 'pads') ?? [0, 0, 0, 0];
    const strides = attrInts(conv, 'strides') ?? [1, 1];
    const ref = conv2d(xq, [2, 1, 28, 28], w.values, w.dims, b.values, pads, strides, attrInt(conv, 'group', 1));
    expect([...q[conv.output[0]].dims]).toEqual(ref.dims);
    expect(maxRel(q[conv.output[0]].data as Float32Array, ref.y)).toBeLessThan(1e-5);

    // fc3: y = fq(x) · Wᵀ + b with transB = 1
    const l1 = layers[1];
    const x = q[fcIn].data as Float32Array;
    const xq2 = fakeQuantize(x, l1.scaleD, l1.offsetD);
    const fw = dequantizedConstant(model, fc.input[1]);
    const fb = dequantizedConstant(model, fc.input[2]);
    const [nOut, k] = fw.dims;
    const rows = x.length / k;
    const y = new Float64Array(rows * nOut);
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < nOut; o++) {
        let acc = fb.values[o];
        for (let i = 0; i < k; i++) acc += xq2[r * k + i] * fw.values[o * k + i];
        y[r * nOut + o] = acc;
      }
    expect(maxRel(q[fc.output[0]].data as Float32Array, y)).toBeLessThan(1e-5);
    // and the float model differs: the check would catch a missing Q/DQ
    const fo = await runExposed(float, feeds, [conv.output[0]]);
    expect(maxRel(fo[conv.output[0]].data as Float32Array, ref.y)).toBeGreaterThan(1e-5);
  });
});

describe('exportQdq inside If/Loop bodies', () => {
  const MODELS = join(process.cwd(), 'test/fixtures/models');
  const spec = (name: string): QdqLayerSpec => ({ name, activation: { scale: 0.02, offset: -128 }, channelWise: true });
  const image = (v: number, n = 2) => new ort.Tensor('float32', Float32Array.from({ length: n * 784 }, (_, i) => ((i * 37) % 101) / 100 * v), [n, 1, 28, 28]);

  /** Largest |q − f| over the largest |f|: the quantized model computes about what the float one does. */
  const errorOverRange = (q: ort.Tensor, f: ort.Tensor) => {
    const a = q.data as Float32Array, b = f.data as Float32Array;
    return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0) / b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  };

  /** Every tensor name produced anywhere in the model (main graph and bodies): ONNX wants each one once. */
  function producedNames(model: OnnxModel): string[] {
    const out: string[] = [];
    const walk = (g: { node: { output: string[]; attribute: { g?: unknown; graphs: unknown[] }[] }[]; initializer: { name?: string }[] }) => {
      for (const t of g.initializer) out.push(t.name ?? '');
      for (const n of g.node) {
        out.push(...n.output);
        for (const a of n.attribute) for (const sg of [a.g, ...a.graphs]) if (sg) walk(sg as typeof g);
      }
    };
    walk(model.graph.proto as unknown as Parameters<typeof walk>[0]);
    return out;
  }

  for (const target of ['ort-cpu', 'generic-qdq'] as const) {
    it(`${target}: Q/DQ nodes are placed inside both branches of an If; the outer weights move into the branch`, async () => {
      const model = loadModel(join(MODELS, 'if_mnist.onnx'));
      const names = ['branch/then_branch/conv1', 'branch/then_branch/fc', 'branch/else_branch/conv', 'branch/else_branch/fc'];
      const r = exportQdq(model, names.map(spec), { target });
      expect(r.layers.map((l) => l.name)).toEqual(names);
      expect(r.layers[2].inputTensor).toBe('input');
      const ifNode = r.model.graph.nodes.find((n) => n.opType === 'If')!;
      for (const a of ifNode.attribute) {
        const ops = a.g!.node.map((n) => n.opType);
        expect(ops).toContain('QuantizeLinear');
        expect(ops).toContain('DequantizeLinear');
      }
      // the else branch read its weights from the main graph: now quantized inside it, and the float ones are gone
      const mainInits = r.model.graph.initializers.map((t) => t.name);
      expect(mainInits).not.toContain('else_conv_w');
      expect(mainInits).not.toContain('else_fc_w');
      const names2 = producedNames(r.model);
      expect(new Set(names2).size).toBe(names2.length);
      // the original is untouched; both branches run in onnxruntime and stay close to the float model
      expect(model.graph.initializers.map((t) => t.name)).toContain('else_conv_w');
      for (const v of [0.05, 1]) {
        const f = (await run(model, { input: image(v) })).logits;
        const q = (await run(r.model, { input: image(v) })).logits;
        expect(errorOverRange(q, f)).toBeLessThan(0.1);
        expect(q.data).not.toEqual(f.data);
      }
    });
  }

  it('a Loop body layer whose weight is an outer initializer', async () => {
    const model = loadModel(join(MODELS, 'loop_mnist.onnx'));
    const r = exportQdq(model, [spec('stem'), spec('refine/body/conv')]);
    const loop = r.model.graph.nodes.find((n) => n.opType === 'Loop')!;
    const body = loop.attribute[0].g!;
    expect(body.node.filter((n) => n.opType === 'DequantizeLinear').length).toBeGreaterThanOrEqual(3); // input, weight, bias
    expect(body.node.find((n) => n.name === 'conv')!.input[1]).not.toBe('body_conv_w');
    expect(r.model.graph.initializers.map((t) => t.name)).not.toContain('body_conv_w');
    const f = (await run(model, { input: image(1) })).logits;
    const q = (await run(r.model, { input: image(1) })).logits;
    expect(errorOverRange(q, f)).toBeLessThan(0.1);
  });

  it('a layer name that is in no body is refused with its name', () => {
    const model = loadModel(join(MODELS, 'loop_mnist.onnx'));
    expect(() => exportQdq(model, [spec('refine/body/nope')])).toThrow(/no layer named "refine\/body\/nope"/);
  });
});

describe('exportQdqSteps', () => {
  it('quantizes one layer per step (where a long export lets a Cancel in), with the result exportQdq gives', () => {
    const model = loadModel(join(process.cwd(), 'test/fixtures/models/mobilenetv2_fmnist.onnx'));
    const specs: QdqLayerSpec[] = findQuantizableLayers(model).filter((l) => l.quantizable).map((l) => ({ name: l.name, activation: { scale: 0.02, offset: 3 }, channelWise: true }));
    const steps = exportQdqSteps(model, specs);
    let yields = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) yields++;
    expect(yields).toBe(specs.length);
    expect(Buffer.from(serializeModel(r.value.model)).equals(Buffer.from(serializeModel(exportQdq(model, specs).model)))).toBe(true);
  });
});
