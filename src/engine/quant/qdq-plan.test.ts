import { describe, expect, it } from 'vitest';
import { createSession, makeNode, makeTensor, ort, serializeModel, type OnnxModel, type TensorProto } from '../onnx';
import { randomTensor } from '../onnx/testing';
import { modelOf, rng } from '../../../test/fixtures/quant/build-models';
import { runtimeGraph } from '../deploy/runtime-graph';
import { exportQdq, type QdqLayerSpec } from './qdq-export';
import { planQdq, reluMadeRedundant, tensorsNeedingRanges, u8FromAmct, u8FromRange } from './qdq-plan';
import { measureRanges } from './tensor-ranges';
import type { Dataset } from '../data/dataset';

/**
 * x → conv1 → Relu → MaxPool → m ─┬→ conv2 → c2 ─→ Add(c2, m) → Relu → a ─┬→ conv3 → c3 → GlobalAveragePool → Flatten → Gemm → out
 *                                 └──────────────────────┘                 └→ conv4 (left float when `floatReader`) → out2
 */
function residualModel(floatReader: boolean): OnnxModel {
  const r = rng(3);
  const arr = (n: number, s: number) => Float32Array.from({ length: n }, () => (r() - 0.5) * s);
  const inits: TensorProto[] = [
    makeTensor('w1', [8, 3, 3, 3], arr(216, 0.6)), makeTensor('b1', [8], arr(8, 0.2)),
    makeTensor('w2', [8, 8, 3, 3], arr(576, 0.3)), makeTensor('b2', [8], arr(8, 0.2)),
    makeTensor('w3', [8, 8, 1, 1], arr(64, 0.6)), makeTensor('b3', [8], arr(8, 0.2)),
    makeTensor('w4', [4, 8, 1, 1], arr(32, 0.6)),
    makeTensor('wg', [5, 8], arr(40, 0.6)), makeTensor('bg', [5], arr(5, 0.2)),
  ];
  const same = { pads: [1, 1, 1, 1], kernel_shape: [3, 3] };
  const nodes = [
    makeNode('Conv', ['x', 'w1', 'b1'], ['c1'], { name: 'conv1', attrs: same }),
    makeNode('Relu', ['c1'], ['r1'], { name: 'relu1' }),
    makeNode('MaxPool', ['r1'], ['m'], { name: 'pool', attrs: { kernel_shape: [2, 2], strides: [2, 2] } }),
    makeNode('Conv', ['m', 'w2', 'b2'], ['c2'], { name: 'conv2', attrs: same }),
    makeNode('Add', ['c2', 'm'], ['s'], { name: 'add' }),
    makeNode('Relu', ['s'], ['a'], { name: 'relu2' }),
    makeNode('Conv', ['a', 'w3', 'b3'], ['c3'], { name: 'conv3', attrs: { kernel_shape: [1, 1] } }),
    makeNode('GlobalAveragePool', ['c3'], ['g'], { name: 'gap' }),
    makeNode('Flatten', ['g'], ['f'], { name: 'flatten' }),
    makeNode('Gemm', ['f', 'wg', 'bg'], ['out'], { name: 'fc', attrs: { transB: 1 } }),
  ];
  const outputs = ['out'];
  if (floatReader) {
    nodes.push(makeNode('Conv', ['a', 'w4'], ['out2'], { name: 'conv4', attrs: { kernel_shape: [1, 1] } }));
    outputs.push('out2');
  }
  return modelOf(nodes, inits, { name: 'x', shape: ['N', 3, 8, 8] }, outputs);
}

function datasetOf(x: ort.Tensor): Dataset {
  return {
    count: x.dims[0], inputNames: ['x'], notes: [], skipped: [],
    effectiveBatchSize: (b: number) => b,
    async *batches({ batchSize }: { batchSize: number }) {
      yield { feeds: { x: { type: 'float32', data: x.data, dims: [...x.dims] } }, indices: Array.from({ length: x.dims[0] }, (_, i) => i), padded: 0, batchSize };
    },
  } as unknown as Dataset;
}

// AMCT int8 parameters: relu outputs asymmetric (offset −128), the image input symmetric
const SPECS: QdqLayerSpec[] = [
  { name: 'conv1', activation: { scale: 0.02, offset: 0 }, channelWise: true },
  { name: 'conv2', activation: { scale: 0.01, offset: -128 }, channelWise: true },
  { name: 'conv3', activation: { scale: 0.015, offset: -128 }, channelWise: true },
  { name: 'fc', activation: { scale: 0.004, offset: -10 }, channelWise: false },
];
const planLayers = SPECS.map((s) => ({ name: s.name, ...s.activation }));

describe('ort-cpu quantization plan', () => {
  it('AMCT int8 offset o is uint8 zero point o + 128; a range always contains 0', () => {
    expect(u8FromAmct(0.5, -128)).toEqual({ scale: 0.5, zeroPoint: 0 });
    expect(u8FromAmct(0.5, 0)).toEqual({ scale: 0.5, zeroPoint: 128 });
    const p = u8FromRange({ min: -1, max: 3 });
    expect(p.scale).toBeCloseTo(4 / 255, 7);
    expect(p.zeroPoint).toBe(64);
    expect(u8FromRange({ min: 0.5, max: 2 }).zeroPoint).toBe(0);
    expect(u8FromRange({ min: 0, max: 0 })).toEqual({ scale: 1, zeroPoint: 0 });
  });

  it('places one scale per tensor: from the consumer, hoisted through MaxPool/Flatten, measured for Add and pooling', () => {
    const m = residualModel(false);
    expect(tensorsNeedingRanges(m, planLayers).sort()).toEqual(['c2', 'c3', 'g']); // g gets Flatten's scale in the end
    const plan = planQdq(m, planLayers, new Map([['c2', { min: -2, max: 2 }], ['c3', { min: -1, max: 4 }]]));
    expect(Object.fromEntries(plan.source)).toEqual({ x: 'layer', r1: 'layout', m: 'layer', c2: 'range', a: 'layer', c3: 'range', g: 'layout', f: 'layer' });
    expect(plan.params.get('r1')).toEqual(plan.params.get('m')); // MaxPool sees equal Q/DQ: the runtime drops them
    expect(plan.params.get('a')!.zeroPoint).toBe(0); // the Relu before it becomes redundant
    expect([...plan.integerOps].map((n) => n.name).sort()).toEqual(['add', 'gap']);
  });

  it('a float reader of the Add output keeps the Add in float (the runtime could not fuse it)', () => {
    const m = residualModel(true);
    const plan = planQdq(m, planLayers, new Map([['c2', { min: -2, max: 2 }], ['c3', { min: -1, max: 4 }]]));
    expect([...plan.integerOps].map((n) => n.name)).toEqual(['gap']);
    expect(plan.params.has('c2')).toBe(false); // no point quantizing the Add's inputs then
    expect([...plan.readers.get('a')!].map((n) => n.name)).toEqual(['conv3']); // conv4 reads float
  });

  it('a Relu/Clip is redundant only when the quantized range lies inside it', () => {
    const m = modelOf(
      [makeNode('Clip', ['x', 'lo', 'hi'], ['y'], { name: 'clip' })],
      [makeTensor('lo', [], Float32Array.of(0)), makeTensor('hi', [], Float32Array.of(6))],
      { name: 'x', shape: [1] }, ['y'],
    );
    const idx = m.graph.index();
    const clip = m.graph.getNode('clip')!;
    expect(reluMadeRedundant(clip, idx, { scale: 6 / 255, zeroPoint: 0 })).toBe(true);
    expect(reluMadeRedundant(clip, idx, { scale: 7 / 255, zeroPoint: 0 })).toBe(false);
    expect(reluMadeRedundant(clip, idx, { scale: 5 / 255, zeroPoint: 3 })).toBe(false);
  });

  it('a ReLU6 the output Q does not make redundant becomes a clip of the uint8 codes: same numbers, no float pass', async () => {
    // x → conv1 → Clip(0, 6) → conv2 → out; conv2's input scale covers [0, 6.12], wider than the Clip
    const r = rng(5);
    const arr = (n: number, k: number) => Float32Array.from({ length: n }, () => (r() - 0.5) * k);
    const m = modelOf(
      [
        makeNode('Conv', ['x', 'w1', 'b1'], ['c1'], { name: 'conv1', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } }),
        makeNode('Clip', ['c1', 'lo', 'hi'], ['r6'], { name: 'relu6' }),
        makeNode('Conv', ['r6', 'w2', 'b2'], ['out'], { name: 'conv2', attrs: { kernel_shape: [1, 1] } }),
      ],
      [
        makeTensor('w1', [8, 3, 3, 3], arr(216, 4)), makeTensor('b1', [8], arr(8, 2)),
        makeTensor('w2', [4, 8, 1, 1], arr(32, 0.6)), makeTensor('b2', [4], arr(4, 0.2)),
        makeTensor('lo', [], Float32Array.of(0)), makeTensor('hi', [], Float32Array.of(6)),
      ],
      { name: 'x', shape: ['N', 3, 8, 8] }, ['out'],
    );
    const specs: QdqLayerSpec[] = [
      { name: 'conv1', activation: { scale: 0.02, offset: 0 }, channelWise: true },
      { name: 'conv2', activation: { scale: 6.12 / 255, offset: -128 }, channelWise: true },
    ];
    const plan = planQdq(m, specs.map((s) => ({ name: s.name, ...s.activation })), new Map());
    expect([...plan.codeClips.keys()].map((n) => n.name)).toEqual(['relu6']);
    const { model } = exportQdq(m, specs, { target: 'ort-cpu' });
    const clips = model.graph.nodes.filter((n) => n.opType === 'Clip');
    expect(clips).toHaveLength(1);
    const bounds = clips[0].input.slice(1).map((t) => Array.from(model.graph.index().initializers.get(t)!.rawData ?? []));
    expect(bounds).toEqual([[0], [250]]); // codes of 0 and of 6 at scale 6.12 / 255 (zero point 0)
    const g = await runtimeGraph(serializeModel(model));
    expect(g.ops['com.microsoft:QLinearConv']).toBe(1);
    expect(g.ops.QuantizeLinear).toBe(1); // the image's: no float clip between a DequantizeLinear and a QuantizeLinear
    // conv2 sees exactly what AMCT's simulation gives it: Q(clip(conv1)) and Clip(Q(conv1)) are the same codes
    const x = randomTensor([4, 3, 8, 8], 9);
    const outputOf = async (mm: OnnxModel) => {
      const s = await createSession(mm, { forComparison: true });
      try {
        return Array.from((await s.run({ x })).out.data as Float32Array);
      } finally {
        await s.release();
      }
    };
    expect(await outputOf(model)).toEqual(await outputOf(exportQdq(m, specs, { target: 'generic-qdq' }).model));
  });

  it('onnxruntime runs every layer, the Add and the pooling as integer kernels, and agrees with the simulation', async () => {
    const m = residualModel(false);
    const x = randomTensor([16, 3, 8, 8], 11);
    const ranges = await measureRanges(m, datasetOf(x), tensorsNeedingRanges(m, planLayers), { batchSize: 16, batches: 1 });
    expect([...ranges.keys()].sort()).toEqual(['c2', 'c3', 'g']);
    for (const weights of ['int8', 'uint8'] as const) {
      const { model, layers } = exportQdq(m, SPECS, { target: 'ort-cpu', ranges, weights });
      // the record numbers are AMCT's whatever the layout
      expect(layers.map((l) => [l.scaleD, l.offsetD])).toEqual(SPECS.map((s) => [Math.fround(s.activation.scale), s.activation.offset]));
      const g = await runtimeGraph(serializeModel(model));
      expect(g.ops['com.microsoft:QLinearConv']).toBe(3);
      expect(g.ops['com.microsoft:QLinearAdd']).toBe(1);
      expect(g.ops['com.microsoft:QLinearGlobalAveragePool']).toBe(1);
      expect(g.ops['com.microsoft:QGemm']).toBe(1);
      expect(g.floatComputeNodes).toBe(0);
      if (weights === 'uint8') {
        // uint8 weights take onnxruntime's exact U8U8 kernels on every CPU: runtime = simulation up to float rounding
        const sim = await createSession(model, { forComparison: true });
        const real = await createSession(model, { forComparison: false });
        const a = (await sim.run({ x })).out.data as Float32Array;
        const b = (await real.run({ x })).out.data as Float32Array;
        await sim.release();
        await real.release();
        let worst = 0;
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
        expect(worst).toBeLessThan(0.05);
      }
    }
    const generic = await runtimeGraph(serializeModel(exportQdq(m, SPECS, { target: 'generic-qdq' }).model));
    expect(generic.floatComputeNodes).toBeGreaterThan(0); // today's layout leaves the layers in float on x86
  });
});
