import { describe, expect, it } from 'vitest';
import { makeNode, makeTensor, ort } from '../onnx';
import { modelOf } from '../../../test/fixtures/quant/build-models';
import { exportQdq } from '../quant/qdq-export';
import { u8s8IsExact } from './kernel-probe';
import { codeMismatches, saturatingLayers } from './saturation';

/** x ∈ [0,1] → convA (all weights 1: full-range int8 pairs) → Relu → convB (one weight per output channel) → out */
function model() {
  return modelOf(
    [
      makeNode('Conv', ['x', 'wa'], ['a'], { name: 'convA', attrs: { kernel_shape: [1, 1] } }),
      makeNode('Relu', ['a'], ['r'], { name: 'relu' }),
      makeNode('Conv', ['r', 'wb'], ['out'], { name: 'convB', attrs: { kernel_shape: [1, 1] } }),
    ],
    [makeTensor('wa', [4, 4, 1, 1], new Float32Array(16).fill(1)), makeTensor('wb', [2, 4, 1, 1], Float32Array.of(0.5, 0, 0, 0, 0, 0, 0.5, 0))],
    { name: 'x', shape: ['N', 4, 2, 2] },
    ['out'],
  );
}

describe('saturatingLayers', () => {
  it("finds the layer whose int8-weight kernel saturates on this CPU, and only where the CPU's kernel does", async () => {
    const { model: q } = exportQdq(model(), [
      { name: 'convA', activation: { scale: 1 / 255, offset: -128 }, channelWise: true },
      { name: 'convB', activation: { scale: 4 / 255, offset: -128 }, channelWise: true },
    ], { target: 'ort-cpu', weights: 'int8' });
    // convB's output is a graph output (no Q after it): the runtime does not fuse it, nothing to check
    const x = new ort.Tensor('float32', new Float32Array(16).fill(1), [1, 4, 2, 2]);
    const found = await saturatingLayers(q, { x }, ['convA', 'convB']);
    // all codes 255 times weights 127: each int16 pair sum would be 64770, past 32767
    expect([...found]).toEqual((await u8s8IsExact()) ? [] : ['convA']);
    const { model: exact } = exportQdq(model(), [
      { name: 'convA', activation: { scale: 1 / 255, offset: -128 }, channelWise: true },
      { name: 'convB', activation: { scale: 4 / 255, offset: -128 }, channelWise: true },
    ], { target: 'ort-cpu', weights: 'uint8' });
    expect([...(await saturatingLayers(exact, { x }, ['convA', 'convB']))]).toEqual([]);
  });

  it('checks each layer on the simulation\'s input codes, not on the saturated output of the layer before it', async () => {
    // convA saturates where the CPU's kernel does; convB reads convA's output and must still be judged on its own
    const chain = modelOf(
      [
        makeNode('Conv', ['x', 'wa'], ['a'], { name: 'convA', attrs: { kernel_shape: [1, 1] } }),
        makeNode('Relu', ['a'], ['r'], { name: 'relu' }),
        makeNode('Conv', ['r', 'wb'], ['b'], { name: 'convB', attrs: { kernel_shape: [1, 1] } }),
        makeNode('Relu', ['b'], ['rb'], { name: 'relu2' }),
        makeNode('Conv', ['rb', 'wc'], ['out'], { name: 'convC', attrs: { kernel_shape: [1, 1] } }),
      ],
      [
        makeTensor('wa', [4, 4, 1, 1], new Float32Array(16).fill(1)),
        makeTensor('wb', [4, 4, 1, 1], Float32Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 0.25 : 0))),
        makeTensor('wc', [2, 4, 1, 1], Float32Array.of(1, 0, 0, 0, 0, 1, 0, 0)),
      ],
      { name: 'x', shape: ['N', 4, 2, 2] },
      ['out'],
    );
    const { model: q } = exportQdq(chain, [
      { name: 'convA', activation: { scale: 1 / 255, offset: -128 }, channelWise: true },
      { name: 'convB', activation: { scale: 4 / 255, offset: -128 }, channelWise: true },
      { name: 'convC', activation: { scale: 1 / 255, offset: -128 }, channelWise: true },
    ], { target: 'ort-cpu', weights: 'int8' });
    const x = new ort.Tensor('float32', Float32Array.from({ length: 32 }, (_, i) => (i % 7) / 6), [2, 4, 2, 2]);
    const m = await codeMismatches(q, { x }, ['convA', 'convB', 'convC']);
    expect([...m.keys()].sort()).toEqual(['convA', 'convB']); // convC's output is the graph output
    expect(m.get('convB')).toBe(0);
    if (!(await u8s8IsExact())) expect(m.get('convA')).toBeGreaterThan(0);
  });

  it('runs a sample at a time, reporting each run, and stops between runs when cancelled', async () => {
    const { model: q } = exportQdq(model(), [
      { name: 'convA', activation: { scale: 1 / 255, offset: -128 }, channelWise: true },
      { name: 'convB', activation: { scale: 4 / 255, offset: -128 }, channelWise: true },
    ], { target: 'ort-cpu', weights: 'int8' });
    // four samples: the first two saturate convA's int8 kernel (all codes 255), the last two do not
    const x = new ort.Tensor('float32', Float32Array.from({ length: 64 }, (_, i) => (i < 32 ? 1 : 0.01)), [4, 4, 2, 2]);
    const runs: [number, number][] = [];
    const perSample = await codeMismatches(q, { x }, ['convA'], { onProgress: (d, t) => runs.push([d, t]) });
    expect(runs).toEqual([[1, 4], [2, 4], [3, 4], [4, 4]]);
    // the same fractions as one run over all four
    expect(perSample).toEqual(await codeMismatches(q, { x }, ['convA'], { samplesPerRun: 4 }));

    const ac = new AbortController();
    const seen: number[] = [];
    await expect(codeMismatches(q, { x }, ['convA'], { signal: ac.signal, onProgress: (d) => (seen.push(d), ac.abort()) }))
      .rejects.toMatchObject({ code: 'cancelled' });
    expect(seen).toEqual([1]); // the abort was heard before the second run
  });
});
