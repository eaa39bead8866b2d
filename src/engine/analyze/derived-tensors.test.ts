import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allNodeOutputs, DT, loadModel, makeNode, makeValueInfo, OnnxModel, runExposed, type ort } from '../onnx';
import { exportQdq } from '../quant/qdq-export';
import { planDerivations } from './derived-tensors';
import { compareTensors } from './metrics';
import { activationRanges, npyFeed } from './testing';

const FIXTURES = join(process.cwd(), 'test/fixtures');

/** Every float32 tensor of the model fetched; each Relu output the plan derives, against its input through the Relu. */
async function checkAgainstFetched(model: OnnxModel, feeds: Record<string, ort.Tensor>, other: Record<string, ort.Tensor>) {
  const names = allNodeOutputs(model).filter((n) => n in other);
  const all = await runExposed(model, feeds, names);
  const float32 = new Set(names.filter((n) => all[n].data instanceof Float32Array));
  const plan = planDerivations(model, names, float32);
  for (const [out, input] of plan.reluOf) {
    expect(plan.fetched).toContain(input);
    expect(plan.fetched).not.toContain(out);
    const y = other[out].data as Float32Array;
    // the metrics against another model's tensor: this model's Relu output fetched, or its input through the Relu
    expect(compareTensors(all[input].data as Float32Array, y, { x: true }), out).toEqual(compareTensors(all[out].data as Float32Array, y));
  }
  return plan;
}

describe('Relu outputs read through the Relu', () => {
  it.each([
    ['lenet_mnist.onnx', 'mnist'], ['sensitive_fmnist.onnx', 'fmnist'], ['transformer_mnist.onnx', 'mnist'],
  ])('%s, float and QDQ: the metrics of each derived Relu output are those of the fetched one', async (file, data) => {
    const float = loadModel(join(FIXTURES, 'models', file));
    const feeds = { [float.graph.feedInputs[0].name!]: npyFeed(join(FIXTURES, 'data', data, 'calib_x.npy'), 6) };
    const ranges = await activationRanges(float, feeds);
    const quant = exportQdq(float, [...ranges].map(([name, r]) => ({ name, activation: { scale: Math.max(r.max, -r.min) / 127 || 1, offset: 0 }, channelWise: true }))).model;
    const floatAll = await runExposed(float, feeds, allNodeOutputs(float));
    const quantAll = await runExposed(quant, feeds, allNodeOutputs(quant));
    const plans = [await checkAgainstFetched(float, feeds, quantAll), await checkAgainstFetched(quant, feeds, floatAll)];
    expect(plans[0].reluOf.size + plans[1].reluOf.size).toBeGreaterThan(0);
  });

  it('fetches a Relu output whose input is not in the run, or not known to be float32; a Relu of a Relu reads the first input', () => {
    const float = loadModel(join(FIXTURES, 'models', 'lenet_mnist.onnx'));
    const names = allNodeOutputs(float);
    const relu = float.graph.nodes.find((n) => n.opType === 'Relu')!;
    const all = new Set(names);
    expect(planDerivations(float, names, all).reluOf.get(relu.output[0])).toBe(relu.input[0]);
    expect(planDerivations(float, names.filter((n) => n !== relu.input[0]), all).fetched).toContain(relu.output[0]);
    expect(planDerivations(float, names, new Set(names.filter((n) => n !== relu.input[0]))).fetched).toContain(relu.output[0]);
    // the input must come first (node order)
    expect(planDerivations(float, [relu.output[0], relu.input[0]], all).fetched).toEqual([relu.output[0], relu.input[0]]);
    const chain = new OnnxModel({
      irVersion: 8, opsetImport: [{ domain: '', version: 13 }], metadataProps: [], trainingInfo: [], functions: [],
      graph: {
        name: 'chain', node: [makeNode('Identity', ['x'], ['a'], { name: 'id' }), makeNode('Relu', ['a'], ['b'], { name: 'r1' }), makeNode('Relu', ['b'], ['c'], { name: 'r2' })],
        initializer: [], input: [makeValueInfo('x', DT.FLOAT, [2])], output: [makeValueInfo('c', DT.FLOAT, [2])],
        valueInfo: [], sparseInitializer: [], quantizationAnnotation: [],
      },
    });
    const plan = planDerivations(chain, ['a', 'b', 'c'], new Set(['a', 'b', 'c']));
    expect([plan.fetched, [...plan.reluOf]]).toEqual([['a'], [['b', 'a'], ['c', 'a']]]);
  });
});
