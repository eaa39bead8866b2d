import { describe, expect, it } from 'vitest';
import { loadModel } from './io';
import { allNodeOutputs, availableExecutionProviders, createSession, exposeTensors, getRuntimeDefaults, runExposed, runExposedChunks, setRuntimeDefaults } from './ort';
import { inferTensorTypes, zeroFeeds } from './shapes';
import { makeSyntheticModel } from './synthetic';
import { DET_MODEL, randomTensor, sameBits } from './testing';

describe('exposing intermediate tensors', () => {
  const det = loadModel(DET_MODEL);
  const feeds = { x: randomTensor([1, 3, 64, 64], 11) };

  it('returns every node output of the detector, the final output unchanged', async () => {
    const names = allNodeOutputs(det);
    expect(names.length).toBeGreaterThan(600);
    const all = await runExposed(det, feeds, 'all');
    expect(Object.keys(all).sort()).toEqual([...new Set(names)].sort());
    const plain = await (await createSession(det)).run(feeds);
    for (const [k, v] of Object.entries(plain)) expect(sameBits(all[k], v)).toBe(true);
    // exposing does not touch the caller's model
    expect(det.graph.outputs.length).toBe(1);
  });

  it('gives the same tensors when run in chunks', async () => {
    const names = allNodeOutputs(det).filter((_, i) => i % 7 === 0);
    const whole = await runExposed(det, feeds, names);
    let chunks = 0;
    for await (const part of runExposedChunks(det, feeds, names, { maxTensorsPerRun: 30 })) {
      chunks++;
      expect(Object.keys(part).length).toBeLessThanOrEqual(30);
      for (const [k, v] of Object.entries(part)) expect(sameBits(v, whole[k]), k).toBe(true);
    }
    expect(chunks).toBe(Math.ceil(names.length / 30));
  });

  it('names a missing tensor', () => {
    expect(() => exposeTensors(det, ['no_such_tensor'])).toThrow(/no tensor named 'no_such_tensor'/);
  });
});

describe('tensor types and shapes', () => {
  it('infers the shape of every tensor by running ORT once', async () => {
    const det = loadModel(DET_MODEL);
    const types = await inferTensorTypes(det, { inputShapes: { x: [1, 3, 64, 64] } });
    for (const name of allNodeOutputs(det)) expect(types.get(name)?.shape, name).not.toBeNull();
    const out = det.graph.outputs[0].name!;
    expect(types.get(out)).toEqual({ type: 'float32', shape: [1, 1, 64, 64] });
  });

  it('gives dynamic dims the user size (default 1)', () => {
    const m = makeSyntheticModel(5);
    expect(zeroFeeds(m).input.dims).toEqual([1, 4, 8, 8]);
    expect(zeroFeeds(m, { dynamicDimSize: 3 }).input.dims).toEqual([3, 4, 8, 8]);
  });
});

describe('runtime defaults', () => {
  it('are checked when set: a provider the build lacks is refused with the list it has', () => {
    expect(availableExecutionProviders()).toContain('cpu');
    expect(() => setRuntimeDefaults({ executionProvider: 'no-such-ep' })).toThrow(/not available in this onnxruntime build; available: cpu/);
    expect(() => setRuntimeDefaults({ threads: 1.5 })).toThrow(/whole number/);
    setRuntimeDefaults({ threads: 1, executionProvider: 'CPU' });
    expect(getRuntimeDefaults()).toEqual({ threads: 1, executionProvider: 'cpu' });
    setRuntimeDefaults({});
    expect(getRuntimeDefaults()).toEqual({ threads: undefined, executionProvider: undefined });
  });
});
