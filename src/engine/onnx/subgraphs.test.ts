import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarizeModel } from './summary';
import { toDisplayGraph } from './display';
import { loadModel } from './io';
import { findQuantizableLayers } from './quantizable';
import { makeTensor } from './tensor';
import { bodyScopes, resolveScopedNode, scopeIndex } from './subgraphs';

const MODELS = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'models');

describe('layers inside control-flow bodies', () => {
  it('an If model: both branches are walked, layers named by scope, outer-initializer weights resolved', () => {
    const s = summarizeModel(join(MODELS, 'if_mnist.onnx'));
    expect(s.layers.map((l) => [l.name, l.opType, l.quantizable, l.subgraph])).toEqual([
      ['branch/else_branch/conv', 'Conv', true, 'branch/else_branch'],
      ['branch/else_branch/fc', 'Gemm', true, 'branch/else_branch'],
      ['branch/then_branch/conv1', 'Conv', true, 'branch/then_branch'],
      ['branch/then_branch/conv2', 'Conv', true, 'branch/then_branch'],
      ['branch/then_branch/fc', 'Gemm', true, 'branch/then_branch'],
    ]);
    expect(s.quantizableCount).toBe(5);
    expect(s.subgraphs).toEqual([
      { path: 'branch/else_branch', opType: 'If', nodeCount: 4, layers: 2, quantizable: 2 },
      { path: 'branch/then_branch', opType: 'If', nodeCount: 8, layers: 3, quantizable: 3 },
    ]);
    // the else branch's weights are outer initializers: found, with their shapes
    const conv = s.layers[0];
    expect(conv.weightShape).toEqual([4, 1, 5, 5]);
    expect(conv.paramCount).toBe(104);
    // parameters of the branch's own initializers count too: 5,875 outer + 9,098 in then_branch
    expect(s.paramCount).toBe(5875 + 80 + 1168 + 7850);
  });

  it('a Loop model: the body layer follows its Loop node; its weight is an outer initializer', () => {
    const m = loadModel(join(MODELS, 'loop_mnist.onnx'));
    const layers = findQuantizableLayers(m);
    expect(layers.map((l) => l.name)).toEqual(['stem', 'refine/body/conv', 'fc']);
    expect(layers[1]).toMatchObject({ quantizable: true, inputTensor: 'h_in', outputTensor: 'b1', weightName: 'body_conv_w', weightShape: [8, 8, 3, 3] });
    const found = resolveScopedNode(m, 'refine/body/conv');
    expect(found?.node.opType).toBe('Conv');
    expect(found?.scope.owner?.opType).toBe('Loop');
    expect(resolveScopedNode(m, 'refine/body/nothing')).toBeUndefined();
  });

  it('a name inside a body shadows an outer one of the same name', () => {
    const m = loadModel(join(MODELS, 'loop_mnist.onnx'));
    const body = bodyScopes(m)[0];
    expect(scopeIndex(body).initializers.has('body_conv_w')).toBe(true);
    // h_in is the body's own input: an outer initializer of that name is not what the body reads
    m.graph.addInitializer(makeTensor('h_in', [1], Float32Array.of(1)));
    expect(scopeIndex(body).initializers.has('h_in')).toBe(false);
    m.graph.addInitializer(makeTensor('other', [1], Float32Array.of(1)));
    expect(scopeIndex(body).initializers.has('other')).toBe(true);
  });
});

describe('display graph of a model with control flow', () => {
  it('lists each body with its nodes, what it reads from outside and what it gives back', () => {
    const g = toDisplayGraph(loadModel(join(MODELS, 'if_mnist.onnx')));
    // the If node reads the input its branches take from outside: drawn as an edge into it
    expect(g.edges.some((e) => e.from === 'input:input' && e.to === 'branch')).toBe(true);
    const then = g.bodies!.find((b) => b.path === 'branch/then_branch')!;
    expect(then.owner).toBe('branch');
    expect(then.nodes.map((n) => n.id)).toContain('branch/then_branch/conv1');
    expect(then.nodes.find((n) => n.id === 'branch/then_branch/conv1')).toMatchObject({ quantizable: true, params: 80 });
    expect(then.entries).toEqual([{ to: 'branch/then_branch/conv1', tensor: 'input' }]);
    expect(then.exits).toEqual([{ from: 'branch/then_branch/fc', tensor: 'then_logits', ownerOutput: 0 }]);
    const loop = toDisplayGraph(loadModel(join(MODELS, 'loop_mnist.onnx'))).bodies![0];
    expect(loop.entries).toEqual(expect.arrayContaining([{ to: 'refine/body/conv', tensor: 'h_in', ownerInput: 2 }]));
    expect(loop.exits.map((e) => [e.from, e.ownerOutput])).toEqual([['refine/body/relu', 0], ['refine/body/emit', 1]]);
    expect(loop.nodes.find((n) => n.id === 'refine/body/conv')!.params).toBe(584); // outer initializers counted
  });
});
