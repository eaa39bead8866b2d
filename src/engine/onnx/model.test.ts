import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { makeNode } from './attrs';
import { constantsToInitializers } from './constants';
import { toDisplayGraph } from './display';
import { loadModel, saveModel, serializeModel } from './io';
import { deterministicNodeNames } from './names';
import { findQuantizableLayers } from './quantizable';
import { summarizeModel } from './summary';
import { makeSyntheticModel } from './synthetic';
import { CLS_MODEL, DET_MODEL, FIXTURES, randomTensor, sameBits } from './testing';

const tmp = mkdtempSync(join(tmpdir(), 'qtune-onnx-model-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const LAYERS = join(FIXTURES, 'layers.onnx');

async function run(model: string | Uint8Array, feeds: Record<string, ort.Tensor>) {
  const s = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  try { return await s.run(feeds); } finally { await s.release(); }
}

describe('deterministic layer names', () => {
  it('names unnamed nodes <op>_<index> and suffixes duplicates', () => {
    const m = loadModel(LAYERS);
    const names = m.graph.nodes.map((n) => n.name);
    expect(names[0]).toBe('Constant_0');
    expect(names[1]).toBe('Conv_1');
    expect(names).toContain('dup');
    expect(names).toContain('dup_1');
    expect(new Set(names).size).toBe(names.length);
    expect(m.generatedNames.has('dup_1')).toBe(true);
    expect(m.generatedNames.has('dup')).toBe(false);
  });

  it('never takes an explicit name for a made-up one', () => {
    const nodes = [makeNode('Relu', ['a'], ['b']), makeNode('Relu', ['b'], ['c'], { name: 'Relu_0' }), makeNode('Relu', ['c'], ['d'], { name: 'Relu_0' })];
    expect(deterministicNodeNames(nodes)).toEqual(['Relu_0_1', 'Relu_0', 'Relu_0_2']);
  });

  it('is stable across loads and survives a save', () => {
    const a = loadModel(DET_MODEL);
    const out = join(tmp, 'named.onnx');
    saveModel(a, out);
    const b = loadModel(out);
    expect(b.graph.nodes.map((n) => n.name)).toEqual(a.graph.nodes.map((n) => n.name));
    expect(b.generatedNames.size).toBe(0); // already named in the saved file
    expect(loadModel(DET_MODEL).graph.nodes.map((n) => n.name)).toEqual(a.graph.nodes.map((n) => n.name));
  });
});

describe('graph', () => {
  it('indexes producers, consumers, constants and shared weights', () => {
    const m = loadModel(LAYERS);
    const idx = m.graph.index();
    expect(idx.producers.get('c1')?.name).toBe('Conv_1');
    expect(idx.consumers.get('w_shared')?.map((n) => n.name)).toEqual(['shared_a', 'shared_b']);
    expect(idx.constants.has('w_const')).toBe(true);
    // the If branches read 'flat' from the outer scope
    expect(idx.consumers.get('flat')?.map((n) => n.name)).toContain('branch');
    expect([...m.graph.sharedWeights().keys()]).toEqual(expect.arrayContaining(['w_shared', 'w_gemm', 'b_gemm']));
  });

  it('sorts topologically and keeps a sorted graph unchanged', () => {
    const m = loadModel(DET_MODEL);
    const original = [...m.graph.nodes];
    expect(m.graph.topologicalOrder()).toEqual(original);
    const shuffled = [...original].reverse();
    m.graph.nodes.splice(0, m.graph.nodes.length, ...shuffled);
    m.graph.sortTopologically();
    const pos = new Map(m.graph.nodes.map((n, i) => [n, i]));
    const idx = m.graph.index();
    for (const n of m.graph.nodes) for (const i of n.input) {
      const p = idx.producers.get(i);
      if (p) expect(pos.get(p)!).toBeLessThan(pos.get(n)!);
    }
  });

  it('turns Constant-node weights into initializers with identical ORT outputs', async () => {
    const m = loadModel(CLS_MODEL);
    const constants = m.graph.nodes.filter((n) => n.opType === 'Constant').length;
    const before = serializeModel(m);
    expect(constantsToInitializers(m)).toBe(constants);
    expect(m.graph.nodes.some((n) => n.opType === 'Constant')).toBe(false);
    expect(m.graph.initializers.length).toBe(constants);
    const feeds = { x: randomTensor([1, 3, 48, 192]) };
    const [a, b] = [await run(before, feeds), await run(serializeModel(m), feeds)];
    for (const k of Object.keys(a)) expect(sameBits(a[k], b[k])).toBe(true);
    // the layers keep their weights, now found as initializers
    expect(findQuantizableLayers(m).filter((l) => l.quantizable).length).toBeGreaterThan(10);
  });

  it('keeps If subgraphs intact through load, run and save', async () => {
    // ORT refuses the fixture as written (two nodes named 'dup'); with the
    // deterministic names it loads.
    await expect(run(LAYERS, {})).rejects.toThrow(/same node name/);
    const m = loadModel(LAYERS);
    const out = join(tmp, 'layers-rt.onnx');
    saveModel(m, out);
    const branch = loadModel(out).graph.getNode('branch')!;
    expect(branch.attribute.map((a) => [a.name, a.g?.node.map((n) => n.opType)])).toEqual([['else_branch', ['Neg']], ['then_branch', ['Relu']]]);
    const feeds = { x: randomTensor([1, 3, 8, 8]), x3d: randomTensor([1, 4, 3, 3, 3], 5) };
    const [a, b] = [await run(serializeModel(m), feeds), await run(out, feeds)];
    expect(a.if_out.dims).toEqual([1, 16]);
    for (const k of Object.keys(a)) expect(sameBits(a[k], b[k])).toBe(true);
  });
});

describe('quantizable layers (spec §4)', () => {
  const layers = new Map(findQuantizableLayers(loadModel(LAYERS)).map((l) => [l.name, l]));
  const reason = (n: string) => layers.get(n)?.reason ?? '';

  it('accepts plain, depthwise and Constant-weight Convs', () => {
    expect(layers.get('Conv_1')).toMatchObject({ quantizable: true, weightName: 'w_conv', biasName: 'b_conv', weightShape: [4, 3, 3, 3], paramCount: 112, channelAxis: 0, kernelDims: 2, inputTensor: 'x', outputTensor: 'c1' });
    expect(layers.get('dw')?.quantizable).toBe(true);
    expect(layers.get('dup')).toMatchObject({ quantizable: true, weightName: 'w_const', paramCount: 16 });
  });
  it('gives reasons for the rest', () => {
    expect(layers.get('shared_a')?.quantizable).toBe(false);
    expect(reason('shared_a')).toMatch(/shared with 1 other node\(s\): shared_b/);
    expect(reason('gemm_alpha')).toMatch(/alpha=0\.5/);
    expect(reason('gemm_transA')).toMatch(/transA=1/);
    expect(reason('gemm_transA')).toMatch(/input 1 'g2' is computed from the data, not a constant weight/);
    expect(reason('mm_3d')).toMatch(/3-D constant/);
    expect(reason('mm_act')).toMatch(/not a constant/);
    expect(reason('ct3d')).toMatch(/ConvTranspose with a 3-D kernel/);
    expect(reason('gap')).toMatch(/global average pooling/);
    // the same reasons as codes with their values, for the app to word
    expect(layers.get('gap')?.why).toEqual([{ code: 'global_average_pool' }]);
    expect(layers.get('gemm_alpha')?.why).toContainEqual({ code: 'gemm_alpha', value: 0.5 });
    expect(layers.get('shared_a')?.why).toContainEqual({ code: 'weight_shared', tensor: expect.any(String), count: 1, nodes: 'shared_b' });
  });
  it('accepts Gemm (alpha=beta=1, transA=0), MatMul with a 2-D constant, 2-D AveragePool', () => {
    expect(layers.get('gemm_ok')).toMatchObject({ quantizable: true, channelAxis: 0, weightShape: [8, 16], paramCount: 136 });
    expect(layers.get('mm_ok')).toMatchObject({ quantizable: true, channelAxis: 1, weightShape: [8, 8] });
    expect(layers.get('avgpool')).toMatchObject({ quantizable: true, kernelDims: 2, paramCount: 0 });
    expect(layers.has('branch')).toBe(false);
  });
});

describe('summary', () => {
  it('describes the classifier', () => {
    const s = summarizeModel(CLS_MODEL);
    expect(s).toMatchObject({ irVersion: 8, opset: 9, sizeBytes: 578966 });
    expect(s.inputs).toEqual([{ name: 'x', type: 'float32', shape: ['p2o.DynamicDimension.0', 3, 'p2o.DynamicDimension.1', 'p2o.DynamicDimension.2'] }]);
    expect(s.outputs.length).toBe(1);
    expect(s.opCounts.Conv).toBeGreaterThan(10);
    expect(Object.values(s.opCounts).reduce((a, b) => a + b, 0)).toBe(s.nodeCount);
    expect(s.layers.filter((l) => l.opType === 'Conv').every((l) => l.quantizable)).toBe(true);
    expect(s.quantizableCount).toBe(s.layers.filter((l) => l.quantizable).length);
    // the classifier's weights: ~0.1-0.6 M parameters of float32 in a 579 kB file
    expect(s.paramCount * 4).toBeLessThan(s.sizeBytes);
    expect(s.paramCount * 4).toBeGreaterThan(s.sizeBytes * 0.8);
  });
  it('describes the detector', () => {
    const s = summarizeModel(DET_MODEL);
    expect(s.opset).toBe(11);
    expect(s.layers.length).toBeGreaterThan(50);
    expect(s.subgraphNodes).toEqual([]);
  });
});

describe('display graph', () => {
  it('folds weights and links producers to consumers', () => {
    const g = toDisplayGraph(loadModel(LAYERS));
    expect(g.nodes.some((n) => n.opType === 'Constant')).toBe(false);
    const conv = g.nodes.find((n) => n.id === 'Conv_1')!;
    expect(conv).toMatchObject({ params: 112, quantizable: true, attrs: { pads: '1,1,1,1' } });
    expect(g.edges).toContainEqual({ from: 'input:x', to: 'Conv_1', tensor: 'x', shape: ['N', 3, 8, 8] });
    expect(g.edges).toContainEqual({ from: 'Conv_1', to: 'shared_a', tensor: 'c1' });
    expect(g.edges).toContainEqual({ from: 'ct3d', to: 'output:ct3', tensor: 'ct3', shape: [1, 2, 4, 4, 4] });
    expect(g.nodes.find((n) => n.id === 'shared_b')?.reason).toMatch(/shared/);
  });
  // (its speed is measured by `npm run bench graph-layout`, as a ratio, not asserted here)
  it('converts a 10,000-node graph: every node, every edge, unique ids', () => {
    const m = makeSyntheticModel(10_000, { unnamed: true });
    const g = toDisplayGraph(m);
    expect(g.nodes.length).toBe(10_000);
    // every non-weight input is an edge: conv 1 + relu 1 + conv 1 + add 2 + relu 1 per 5-node block, plus the output
    expect(g.edges.length).toBe(2000 * 6 + 1);
    expect(new Set(g.nodes.map((n) => n.id)).size).toBe(10_000);
  });
});
