import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSession, loadModel, makeTensor, ort, serializeModel, type OnnxModel } from '../onnx';
import { randomTensor, maxRelativeError } from '../onnx/testing';
import { makeBnModel } from '../../../test/fixtures/quant/build-models';
import { foldBatchNorm, foldBatchNormSteps, fusibleLayers } from './fusion';

const MODELS = join(process.cwd(), 'test/fixtures/models');

async function outputs(model: OnnxModel, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const s = await createSession(model);
  try {
    return (await s.run(feeds)) as Record<string, ort.Tensor>;
  } finally {
    await s.release();
  }
}

async function expectSameOutputs(a: OnnxModel, b: OnnxModel, feeds: Record<string, ort.Tensor>): Promise<void> {
  const x = await outputs(a, feeds);
  const y = await outputs(b, feeds);
  expect(Object.keys(y).sort()).toEqual(Object.keys(x).sort());
  for (const k of Object.keys(x)) expect(maxRelativeError(y[k], x[k])).toBeLessThan(1e-4);
}

describe('foldBatchNorm', () => {
  it('fuses Conv+BN, folds BN+Mul/Add, keeps names, and outputs stay equal in ORT', async () => {
    const original = makeBnModel();
    const model = original.clone();
    expect(fusibleLayers(model)).toEqual(['conv1', 'conv2']);
    const r = foldBatchNorm(model);
    expect(r.folded.map((f) => f.opType)).toEqual(['Mul', 'Add']);
    expect(r.fused).toEqual([{ conv: 'conv1', bn: 'bn1' }, { conv: 'conv2', bn: 'bn2' }]);
    const ops = model.graph.nodes.map((n) => n.opType);
    expect(ops.filter((o) => o === 'BatchNormalization')).toHaveLength(1); // bn3: its Conv output also feeds the Add
    expect(ops).not.toContain('Mul');
    const conv1 = model.graph.getNode('conv1')!;
    expect(conv1.output[0]).toBe('n1'); // the BN's output name
    expect(model.graph.getNode('conv2')!.output[0]).toBe('a2'); // the Add's output, after folding
    expect(model.graph.getNode('conv2')!.input[2]).toBeTruthy(); // bias created
    await expectSameOutputs(original, model, { x: randomTensor([2, 3, 8, 8], 5) });
  });

  it('fuses a BN whose parameters are read through Identity nodes (torch.onnx deduplicates equal parameters)', async () => {
    const original = makeBnModel();
    const model = original.clone();
    const g = model.graph;
    const bn1 = g.getNode('bn1')!;
    // route bn1's gamma and mean through Identity nodes, as an exporter sharing equal parameters writes them
    for (const k of [1, 3]) {
      const shared = `${bn1.input[k]}_shared`;
      g.nodes.unshift({ input: [bn1.input[k]], output: [shared], name: `Identity_${k}`, opType: 'Identity', attribute: [] } as never);
      bn1.input[k] = shared;
    }
    const r = foldBatchNorm(model);
    expect(r.fused.map((f) => f.conv)).toContain('conv1');
    expect(r.skipped.map((s) => s.name)).not.toContain('conv1');
    await expectSameOutputs(original, model, { x: randomTensor([2, 3, 8, 8], 5) });
  });

  it('skips layers named in skip_fusion_layers, and unknown names are an error', async () => {
    const original = makeBnModel();
    const model = original.clone();
    const r = foldBatchNorm(model, { skip: ['conv1'] });
    expect(r.fused.map((f) => f.conv)).toEqual(['conv2']);
    expect(r.skipped).toEqual([{ name: 'conv1', reason: 'listed in skip_fusion_layers' }]);
    expect(model.graph.getNode('bn1')).toBeDefined();
    await expectSameOutputs(original, model, { x: randomTensor([1, 3, 8, 8], 9) });
    expect(() => foldBatchNorm(makeBnModel(), { skip: ['conv9'] })).toThrow(/conv9/);
  });

  it('skips a pair whose fused weights would not be finite', () => {
    const model = makeBnModel();
    // variance = -epsilon makes 1/sqrt(var + eps) infinite
    model.graph.addInitializer(makeTensor('bn1.var', [4], Float32Array.from([1, -1e-3, 1, 1])));
    const r = foldBatchNorm(model);
    expect(r.fused.map((f) => f.conv)).toEqual(['conv2']);
    expect(r.skipped[0].name).toBe('conv1');
    expect(r.skipped[0].reason).toMatch(/not finite/);
  });

  it.runIf(existsSync(join(MODELS, 'lenet_mnist.onnx')))('leaves a model without BN unchanged in function (lenet)', async () => {
    const original = loadModel(join(MODELS, 'lenet_mnist.onnx'));
    const model = original.clone();
    const r = foldBatchNorm(model);
    expect(r.fused).toEqual([]);
    await expectSameOutputs(original, model, { input: randomTensor([2, 1, 28, 28], 3) });
  });

  for (const file of ['mobilenetv2_fmnist.onnx', 'sensitive_fmnist.onnx']) {
    it.runIf(existsSync(join(MODELS, file)))(`fused ${file} computes what the original does`, async () => {
      const original = loadModel(join(MODELS, file));
      const model = original.clone();
      const r = foldBatchNorm(model);
      expect(r.fused.length).toBeGreaterThan(0);
      expect(model.graph.nodes.some((n) => n.opType === 'BatchNormalization')).toBe(false);
      const input = original.graph.feedInputs[0].name!;
      await expectSameOutputs(original, model, { [input]: randomTensor([4, 1, 28, 28], 11) });
    });
  }
});

describe('foldBatchNormSteps', () => {
  it('fuses one pair per step (where a long fusion lets a Cancel in), with the result foldBatchNorm gives', () => {
    const a = loadModel(join(MODELS, 'mobilenetv2_fmnist.onnx'));
    const b = loadModel(join(MODELS, 'mobilenetv2_fmnist.onnx'));
    const steps = foldBatchNormSteps(a);
    let yields = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) yields++;
    expect(r.value.fused.length).toBeGreaterThan(10);
    expect(yields).toBe(r.value.fused.length + r.value.skipped.length + r.value.folded.length);
    expect(r.value).toEqual(foldBatchNorm(b));
    expect(Buffer.from(serializeModel(a)).equals(Buffer.from(serializeModel(b)))).toBe(true);
  });
});
