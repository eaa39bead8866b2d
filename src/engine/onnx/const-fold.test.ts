import { describe, expect, it } from 'vitest';
import { modelOf, rng } from '../../../test/fixtures/quant/build-models';
import { makeNode } from './attrs';
import { constantValue, materializeWeightExpressions } from './const-fold';
import { createSession, ort } from './ort';
import { findQuantizableLayers } from './quantizable';
import { DT } from './proto';
import { makeInt64Tensor, makeTensor, tensorDims, tensorToFloat32, tensorToTypedArray } from './tensor';
import type { OnnxModel } from './model';
import { randomTensor } from './testing';

const D = 4;

/**
 * x [N, 3, D] through the weight shapes torch 1.13 writes without constant folding:
 * - q/k/v weights sliced out of one packed [3D, D] parameter (Slice with bounds from Shape and
 *   arithmetic, Split, Gather of a stacked copy), each Transpose'd into a MatMul;
 * - a de-duplicated parameter read through Identity by a Gemm (one weight, two readers: tied);
 * - a bias Cast from float16 and Reshape'd from [1, D] by a Concat'ed shape.
 */
function packedModel(): OnnxModel {
  const r = rng(5);
  const packed = Float32Array.from({ length: 3 * D * D }, () => r() * 2 - 1);
  const tied = Float32Array.from({ length: D * D }, () => r() * 2 - 1);
  const bias16 = Uint16Array.from({ length: D }, (_, i) => 0x3c00 + i * 0x100); // 1, 1.25, 1.5, 1.75 in float16
  const inits = [
    makeTensor('in_proj', [3 * D, D], packed),
    makeTensor('tied_w', [D, D], tied),
    makeTensor('bias16', [1, D], bias16, DT.FLOAT16),
    makeInt64Tensor('zero', [0]),
    makeInt64Tensor('axis0', [0]),
    makeInt64Tensor('two', [2], []),
    makeInt64Tensor('minus1', [-1]),
    makeInt64Tensor('split_sizes', [D, D, D]),
    makeInt64Tensor('k_index', [1], []),
    makeInt64Tensor('four', [D]),
    makeInt64Tensor('one', [1]),
  ];
  const nodes = [
    // q: Slice(in_proj, 0, Shape(in_proj)[1]) — the end computed from the parameter's own shape
    makeNode('Shape', ['in_proj'], ['s']),
    makeNode('Gather', ['s', 'k_index'], ['d'], { attrs: { axis: 0 } }),
    makeNode('Unsqueeze', ['d', 'axis0'], ['d1']),
    makeNode('Slice', ['in_proj', 'zero', 'd1', 'axis0'], ['wq']),
    makeNode('Transpose', ['wq'], ['wq_t'], { attrs: { perm: [1, 0] } }),
    makeNode('MatMul', ['x', 'wq_t'], ['q'], { name: 'q_proj' }),
    // k, v: Split into three, then Transpose
    makeNode('Split', ['in_proj', 'split_sizes'], ['s_q', 's_k', 's_v'], { attrs: { axis: 0 } }),
    makeNode('Transpose', ['s_k'], ['wk_t'], { attrs: { perm: [1, 0] } }),
    makeNode('MatMul', ['x', 'wk_t'], ['k'], { name: 'k_proj' }),
    // v: Reshape to [3, D, D], Gather index 2
    makeNode('Concat', ['minus1', 'split_sizes'], ['shape3'], { attrs: { axis: 0 } }),
    makeNode('Slice', ['shape3', 'zero', 'minus1'], ['shape3b']),
    makeNode('Reshape', ['in_proj', 'shape3b'], ['stacked']),
    makeNode('Gather', ['stacked', 'two'], ['wv'], { attrs: { axis: 0 } }),
    makeNode('Transpose', ['wv'], ['wv_t'], { attrs: { perm: [1, 0] } }),
    makeNode('MatMul', ['x', 'wv_t'], ['v'], { name: 'v_proj' }),
    makeNode('Add', ['q', 'k'], ['qk']),
    makeNode('Add', ['qk', 'v'], ['h']),
    makeNode('Flatten', ['h'], ['hf'], { attrs: { axis: 1 } }),
    makeNode('Slice', ['hf', 'zero', 'four', 'one'], ['hs']),
    // the tied weight: read directly and through Identity (torch's de-duplicated copy)
    makeNode('Identity', ['tied_w'], ['tied_w_copy']),
    makeNode('Cast', ['bias16'], ['bias32'], { attrs: { to: DT.FLOAT } }),
    makeNode('Reshape', ['bias32', 'minus1'], ['bias']),
    makeNode('Gemm', ['hs', 'tied_w', 'bias'], ['g1'], { name: 'tied_a', attrs: { transB: 1 } }),
    makeNode('Relu', ['g1'], ['r1']),
    makeNode('Gemm', ['r1', 'tied_w_copy', 'bias'], ['y'], { name: 'tied_b', attrs: { transB: 1 } }),
  ];
  return modelOf(nodes, inits, { name: 'x', shape: ['N', 3, D] }, ['y']);
}

async function run(model: OnnxModel, x: ort.Tensor): Promise<Float32Array> {
  const s = await createSession(model);
  try {
    return (await s.run({ x }))['y'].data as Float32Array;
  } finally {
    await s.release();
  }
}

describe('constantValue', () => {
  it('computes q, k and v weights sliced out of a packed parameter, as the runtime does', () => {
    const m = packedModel();
    const idx = m.graph.index();
    const packed = tensorToFloat32(idx.initializers.get('in_proj')!);
    const wantT = (part: number) => Float32Array.from({ length: D * D }, (_, k) => packed[(part * D + (k % D)) * D + Math.floor(k / D)]);
    for (const [name, part] of [['wq_t', 0], ['wk_t', 1], ['wv_t', 2]] as const) {
      const t = constantValue(idx, name)!;
      expect(tensorDims(t)).toEqual([D, D]);
      expect(Array.from(tensorToFloat32(t))).toEqual(Array.from(wantT(part)));
    }
    const bias = constantValue(idx, 'bias')!;
    expect(tensorDims(bias)).toEqual([D]);
    expect(Array.from(tensorToFloat32(bias))).toEqual([1, 1.25, 1.5, 1.75]);
    expect(Array.from(tensorToTypedArray(constantValue(idx, 'shape3b')!) as BigInt64Array)).toEqual([-1n, 4n, 4n]);
    // anything reading the graph input is not a constant
    expect(constantValue(idx, 'q')).toBeUndefined();
    expect(constantValue(idx, 'hs')).toBeUndefined();
  });

  it('makes every MatMul/Gemm with a constant weight quantizable, and materializing keeps the function', async () => {
    const original = packedModel();
    const layers = findQuantizableLayers(original);
    expect(layers.map((l) => [l.name, l.quantizable, l.weightShape])).toEqual([
      ['q_proj', true, [D, D]], ['k_proj', true, [D, D]], ['v_proj', true, [D, D]], ['tied_a', true, [D, D]], ['tied_b', true, [D, D]],
    ]);
    const model = original.clone();
    const r = materializeWeightExpressions(model);
    expect(r.tensors.sort()).toEqual(['bias', 'tied_w_copy', 'wk_t', 'wq_t', 'wv_t']);
    // only the data path is left: no Shape, Split, Cast or Transpose of parameters
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['MatMul', 'MatMul', 'MatMul', 'Add', 'Add', 'Flatten', 'Slice', 'Gemm', 'Relu', 'Gemm']);
    const idx = model.graph.index();
    for (const n of model.graph.nodes.filter((n) => n.opType === 'MatMul' || n.opType === 'Gemm')) expect(idx.initializers.has(n.input[1])).toBe(true);
    const x = randomTensor([2, 3, D], 11);
    expect(Array.from(await run(model, x))).toEqual(Array.from(await run(original, x)));
  });
});
