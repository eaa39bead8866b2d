import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findQuantizableLayers, loadModel, ort } from '../onnx';
import { layerOfRuntimeNode, profileLayers } from './profile';

const MODELS = join(process.cwd(), 'test/fixtures/models');

describe('per-layer time from the profiler', () => {
  it('maps the runtime names of fused nodes back to layers', () => {
    const m = loadModel(join(MODELS, 'mobilenetv2_fmnist.onnx'));
    expect(layerOfRuntimeNode('/features/stem/conv/Conv_token_1_kernel_time', m)).toBe('/features/stem/conv/Conv');
    // a float Conv+BN+Clip in the blocked layout is named after the Clip's output
    expect(layerOfRuntimeNode('/features/stem/relu6/Clip_output_0_nchwc_kernel_time', m)).toBe('/features/stem/conv/Conv');
    expect(layerOfRuntimeNode('fused /classifier/Gemm_kernel_time', m)).toBe('/classifier/Gemm');
    expect(layerOfRuntimeNode('ReorderOutput_kernel_time', m)).toBeUndefined();
  });

  it('gives every layer of the float model a time, and the times add up', async () => {
    const path = join(MODELS, 'mobilenetv2_fmnist.onnx');
    const x = new ort.Tensor('float32', new Float32Array(8 * 784).fill(0.5), [8, 1, 28, 28]);
    const p = await profileLayers(path, { input: x }, 2);
    const layers = findQuantizableLayers(loadModel(path)).filter((l) => l.quantizable).map((l) => l.name);
    const timed = p.layers.filter((l) => l.layer).map((l) => l.name);
    expect(new Set(timed)).toEqual(new Set(layers));
    const sum = p.layers.reduce((a, l) => a + l.ms, 0);
    expect(Math.abs(sum - p.totalMs)).toBeLessThan(1e-6 + p.totalMs * 1e-9);
    expect(p.totalMs).toBeGreaterThan(0);
  });
});
