import { describe, expect, it } from 'vitest';
import type { DisplayGraph } from '../../shared/graph';
import { bodyHolding, expandBodies } from './subgraphs';

const node = (id: string, opType: string, inputs: string[], outputs: string[], quantizable = false) => ({ id, opType, inputs, outputs, params: 0, quantizable });

// input → cond → If(branch: then conv reads the input from outside; else gemm) → logits
const graph: DisplayGraph = {
  inputs: ['input'], outputs: ['logits'],
  nodes: [node('cond', 'Greater', ['input'], ['c']), node('branch', 'If', ['c'], ['y']), node('out', 'Softmax', ['y'], ['logits'])],
  edges: [
    { from: 'input:input', to: 'cond', tensor: 'input' },
    { from: 'cond', to: 'branch', tensor: 'c' },
    { from: 'input:input', to: 'branch', tensor: 'input' },
    { from: 'branch', to: 'out', tensor: 'y' },
    { from: 'out', to: 'output:logits', tensor: 'logits' },
  ],
  bodies: [
    {
      owner: 'branch', path: 'branch/then_branch',
      nodes: [node('branch/then_branch/conv', 'Conv', ['input', 'w'], ['t1'], true), node('branch/then_branch/relu', 'Relu', ['t1'], ['t2'])],
      edges: [{ from: 'branch/then_branch/conv', to: 'branch/then_branch/relu', tensor: 't1' }],
      entries: [{ to: 'branch/then_branch/conv', tensor: 'input' }],
      exits: [{ from: 'branch/then_branch/relu', tensor: 't2', ownerOutput: 0 }],
    },
    {
      owner: 'branch', path: 'branch/else_branch',
      nodes: [node('branch/else_branch/fc', 'Gemm', ['input', 'w2'], ['e1'], true)],
      edges: [],
      entries: [{ to: 'branch/else_branch/fc', tensor: 'input' }],
      exits: [{ from: 'branch/else_branch/fc', tensor: 'e1', ownerOutput: 0 }],
    },
  ],
};

describe('expandBodies', () => {
  it('leaves the graph as it is when nothing is expanded', () => {
    expect(expandBodies(graph, new Set())).toBe(graph);
  });

  it('replaces an If by both branches, wired to the outer producer and to the consumer of its output', () => {
    const g = expandBodies(graph, new Set(['branch']));
    expect(g.nodes.map((n) => n.id)).toEqual(['cond', 'out', 'branch/then_branch/conv', 'branch/then_branch/relu', 'branch/else_branch/fc']);
    const pairs = g.edges.map((e) => `${e.from} -> ${e.to}`);
    expect(pairs).toContain('input:input -> branch/then_branch/conv');
    expect(pairs).toContain('input:input -> branch/else_branch/fc');
    expect(pairs).toContain('branch/then_branch/conv -> branch/then_branch/relu');
    expect(pairs).toContain('branch/then_branch/relu -> out');
    expect(pairs).toContain('branch/else_branch/fc -> out');
    expect(pairs.some((p) => p.includes('-> branch') && !p.includes('branch/'))).toBe(false);
    expect(bodyHolding(graph, 'branch/else_branch/fc')?.path).toBe('branch/else_branch');
  });

  it('maps a Loop body input to the owner input at the same position', () => {
    const loop: DisplayGraph = {
      inputs: ['x'], outputs: ['y'],
      nodes: [node('stem', 'Conv', ['x'], ['h0']), node('refine', 'Loop', ['n', '', 'h0'], ['h']), node('fc', 'Gemm', ['h'], ['y'])],
      edges: [
        { from: 'input:x', to: 'stem', tensor: 'x' }, { from: 'stem', to: 'refine', tensor: 'h0' },
        { from: 'refine', to: 'fc', tensor: 'h' }, { from: 'fc', to: 'output:y', tensor: 'y' },
      ],
      bodies: [{
        owner: 'refine', path: 'refine/body',
        nodes: [node('refine/body/conv', 'Conv', ['h_in', 'w'], ['h_out'], true)], edges: [],
        entries: [{ to: 'refine/body/conv', tensor: 'h_in', ownerInput: 2 }],
        exits: [{ from: 'refine/body/conv', tensor: 'h_out', ownerOutput: 0 }],
      }],
    };
    const pairs = expandBodies(loop, new Set(['refine'])).edges.map((e) => `${e.from} -> ${e.to}`);
    expect(pairs).toEqual(expect.arrayContaining(['stem -> refine/body/conv', 'refine/body/conv -> fc']));
  });
});
