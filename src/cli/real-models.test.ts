// Models beyond the image classifiers, through the CLI as a user runs it:
// newer ONNX files (IR 10 metadata, element types qtune cannot quantize),
// inputs that are not data (constants in the dataset manifest).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DT, UNKNOWN_FIELDS, decodeModelProto, emptyTensor, loadModel, makeNode, makeTensor, makeValueInfo, saveModel, tensorToTypedArray, toNum } from '../engine/onnx';
import { modelOf } from '../../test/fixtures/quant/build-models';
import { lenetWithStateInputs } from '../../test/fixtures/quant/state-inputs';
import { errorLines, qtuneSync } from './testing';

const lenet = resolve('test/fixtures/models/lenet_mnist.onnx');
const mnist = resolve('test/fixtures/data/mnist');
const EXTENSION = Uint8Array.of(0xc0, 0x3e, 0x2a); // field 1000, varint 42: a field no ONNX release defines

describe('newer ONNX files keep what qtune does not edit', () => {
  it('node and graph metadata_props and unknown fields of an IR 10 model survive upgrade and calibrate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-ir10-'));
    const m = loadModel(lenet);
    m.proto.irVersion = 10;
    const first = m.graph.nodes[0];
    first.metadataProps = [{ key: 'pkg.torch.onnx.stack_trace', value: 'model.py:12' }];
    (first as unknown as Record<string, unknown>)[UNKNOWN_FIELDS] = [EXTENSION];
    m.graph.proto.metadataProps = [{ key: 'source', value: 'exporter 2.x' }];
    const src = join(dir, 'lenet_ir10.onnx');
    saveModel(m, src);

    const check = (file: string) => {
      const out = decodeModelProto(readFileSync(file));
      expect(toNum(out.irVersion)).toBe(10);
      const node = out.graph!.node.find((n) => n.name === first.name)!;
      expect(node.metadataProps).toEqual([{ key: 'pkg.torch.onnx.stack_trace', value: 'model.py:12' }]);
      expect(((node as unknown as Record<string, Uint8Array[]>)[UNKNOWN_FIELDS] ?? []).map((b) => Array.from(b))).toEqual([Array.from(EXTENSION)]);
      expect(out.graph!.metadataProps).toEqual([{ key: 'source', value: 'exporter 2.x' }]);
    };
    const up = qtuneSync(['upgrade', src, join(dir, 'up.onnx'), '--opset', '14']);
    expect(up.code, up.stderr).toBe(0);
    check(join(dir, 'up.onnx'));
    const cal = qtuneSync(['calibrate', '--model', src, '--data', join(mnist, 'calib_x.npy'), '--batch-size', '8', '--save-path', join(dir, 'out', 'lenet')]);
    expect(cal.code, cal.stderr).toBe(0);
    check(join(dir, 'out', 'lenet_quant_model.onnx'));
    check(join(dir, 'out', 'lenet_fused_float.onnx'));
  });

  it('a layer whose weight is float8 or int4 is listed as not quantizable, with the element type', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-fp8-'));
    const m = modelOf([
      makeNode('MatMul', ['x', 'w8'], ['h'], { name: 'fp8_matmul' }),
      makeNode('Gemm', ['h', 'w', 'b4'], ['y'], { name: 'int4_bias_gemm' }),
    ], [
      makeTensor('w8', [4, 4], new Uint8Array(16).fill(0x38), DT.FLOAT8E4M3FN),
      makeTensor('w', [4, 4], new Float32Array(16).fill(0.5)),
      emptyTensor({ name: 'b4', dims: [4], dataType: DT.INT4, rawData: Uint8Array.of(0x21, 0x43) }), // two 4-bit values a byte
    ], { name: 'x', shape: ['N', 4] }, ['y']);
    m.proto.irVersion = 10;
    const file = join(dir, 'fp8.onnx');
    saveModel(m, file);
    const r = qtuneSync(['summary', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const layers = JSON.parse(r.stdout).layers as { name: string; quantizable: boolean; reason?: string }[];
    expect(layers.map((l) => [l.name, l.quantizable])).toEqual([['fp8_matmul', false], ['int4_bias_gemm', false]]);
    expect(layers[0].reason).toContain("weight 'w8' is float8e4m3fn");
    expect(layers[1].reason).toContain("bias 'b4' is int4");
  });
});

describe('inputs that are not data: constants in the dataset manifest', () => {
  it('feeds a scalar sample rate and a zero state through calibrate, evaluate and analyze', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-const-'));
    const model = lenetWithStateInputs(dir);
    const manifest = (x: string, sr: number) => {
      const file = join(dir, `${x}_${sr}.json`);
      writeFileSync(file, JSON.stringify({
        inputs: {
          input: { npy: join(mnist, `${x}_x.npy`) },
          sr: { constant: sr, dtype: 'int64', shape: [] },
          offset: { constant: 0, shape: [10] },
        },
        ...(x === 'eval' ? { labels: { npy: join(mnist, 'eval_y.npy') } } : {}),
      }));
      return file;
    };
    const cal = qtuneSync(['calibrate', '--model', model, '--data', manifest('calib', 16000), '--batch-size', '16', '--save-path', join(dir, 'out', 'm')]);
    expect(cal.code, cal.stderr).toBe(0);
    const quant = join(dir, 'out', 'm_quant_model.onnx');
    const ev = qtuneSync(['evaluate', '--model', quant, '--data', manifest('eval', 16000), '--reference', model, '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const r = JSON.parse(ev.stdout);
    // LeNet's own figures (test/fixtures/README.md): the constants were fed as given
    expect(r.reference.value).toBeCloseTo(98.55, 5);
    expect(r.value).toBeGreaterThan(98);
    // another sample rate scales the images: the model sees it
    const half = qtuneSync(['evaluate', '--model', model, '--data', manifest('eval', 4000), '--json']);
    expect(half.code, half.stderr).toBe(0);
    expect(JSON.parse(half.stdout).value).not.toBeCloseTo(98.55, 1);
    const an = qtuneSync(['analyze', '--float', model, '--quant', quant, '--data', manifest('eval', 16000), '--samples', '8', '--out', join(dir, 'report')]);
    expect(an.code, an.stderr).toBe(0);
  });

  it('refuses a dataset made of constants only, and a fraction for an integer dtype, naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-const-'));
    const model = lenetWithStateInputs(dir);
    const only = join(dir, 'only.json');
    writeFileSync(only, JSON.stringify({ inputs: { input: { constant: 0, shape: [1, 28, 28] }, sr: { constant: 16000 }, offset: { constant: 0, shape: [10] } } }));
    const a = qtuneSync(['evaluate', '--model', model, '--data', only]);
    expect(a.code).not.toBe(0);
    expect(errorLines(a)).toHaveLength(1);
    expect(a.stderr).toContain('every input of the dataset is a constant');
    const frac = join(dir, 'frac.json');
    writeFileSync(frac, JSON.stringify({ inputs: { input: { npy: join(mnist, 'eval_x.npy') }, sr: { constant: 16000.5, dtype: 'int64' }, offset: { constant: 0, shape: [10] } } }));
    const b = qtuneSync(['evaluate', '--model', model, '--data', frac]);
    expect(b.code).not.toBe(0);
    expect(errorLines(b)).toHaveLength(1);
    expect(b.stderr).toContain('inputs.sr.constant: 16000.5 is not an integer');
  });
});

const models = resolve('test/fixtures/models');
type SummaryLayer = { name: string; opType: string; quantizable: boolean; reason?: string };
const summaryLayers = (file: string): SummaryLayer[] => {
  const r = qtuneSync(['summary', file, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).layers;
};
/** every MatMul/Gemm is quantizable unless both its inputs come from the data (attention scores × values) */
const expectEveryWeightLayerQuantizable = (layers: SummaryLayer[]) => {
  for (const l of layers.filter((x) => x.opType === 'MatMul' || x.opType === 'Gemm')) {
    if (!l.quantizable) expect(l.reason, l.name).toMatch(/is computed from the data, not a constant weight/);
  }
};

describe('transformers exported by torch 1.13 without constant folding', () => {
  it('nn.TransformerEncoder: every Linear is quantizable and the int8 model keeps the accuracy, in onnxruntime too', () => {
    const model = join(models, 'transformer_mnist.onnx');
    const layers = summaryLayers(model);
    expectEveryWeightLayerQuantizable(layers);
    // embed, 2 × (packed in_proj, out_proj, linear1, linear2), head; the 4 attention products stay float
    expect(layers.filter((l) => l.quantizable).map((l) => l.name)).toEqual([
      '/tokens/embed/MatMul',
      ...[0, 1].flatMap((k) => [`/encoder/layers.${k}/self_attn/MatMul`, `/encoder/layers.${k}/self_attn/Gemm`, `/encoder/layers.${k}/linear1/MatMul`, `/encoder/layers.${k}/linear2/MatMul`]),
      '/head/Gemm',
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'qtune-transformer-'));
    const cal = qtuneSync(['calibrate', '--model', model, '--data', join(mnist, 'calib_x.npy'), '--batch-size', '32', '--save-path', join(dir, 'tr')]);
    expect(cal.code, cal.stderr).toBe(0);
    expect(cal.stdout).toContain('quantized 10 of 14 layers');
    const ev = qtuneSync(['evaluate', '--model', join(dir, 'tr_quant_model.onnx'), '--data', join(mnist, 'eval_x.npy'), '--labels', join(mnist, 'eval_y.npy'), '--reference', model, '--parity', '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const r = JSON.parse(ev.stdout);
    expect(r.reference.value).toBeCloseTo(96.5, 5); // test/fixtures/README.md
    expect(r.value).toBeCloseTo(96.35, 5);
    expect(r.parity.ok).toBe(true);
  });

  it('packed qkv weights split into q, k, v, a weight shared by two layers and one read through Identity: all quantized, shared ones alike', () => {
    const model = join(models, 'qkv_attention_mnist.onnx');
    const layers = summaryLayers(model);
    expectEveryWeightLayerQuantizable(layers);
    const byName = new Map(layers.map((l) => [l.name, l]));
    for (const n of ['/blocks/blocks.1/MatMul', '/blocks/blocks.1/MatMul_1', '/blocks/blocks.1/MatMul_2', '/fc_b/Gemm', '/tied/Gemm', '/tied_1/Gemm']) {
      expect(byName.get(n)?.quantizable, n).toBe(true);
    }
    const dir = mkdtempSync(join(tmpdir(), 'qtune-qkv-'));
    const cal = qtuneSync(['calibrate', '--model', model, '--data', join(mnist, 'calib_x.npy'), '--batch-size', '32', '--save-path', join(dir, 'qkv'), '--target', 'generic-qdq']);
    expect(cal.code, cal.stderr).toBe(0);
    // the two readers of one weight store the same int8 values and scale
    const q = loadModel(join(dir, 'qkv_quant_model.onnx'));
    const idx = q.graph.index();
    const weightOf = (layer: string) => {
      const dq = idx.producers.get(q.graph.getNode(layer)!.input[1])!;
      expect(dq.opType).toBe('DequantizeLinear');
      return [dq.input[0], dq.input[1]].map((t) => Array.from(tensorToTypedArray(idx.initializers.get(t)!) as ArrayLike<number>));
    };
    expect(weightOf('/tied_1/Gemm')).toEqual(weightOf('/tied/Gemm'));
    expect(weightOf('/blocks/blocks.1/proj/MatMul')).toEqual(weightOf('/blocks/blocks.0/proj/MatMul'));
    const ev = qtuneSync(['evaluate', '--model', join(dir, 'qkv_quant_model.onnx'), '--data', join(mnist, 'eval_x.npy'), '--labels', join(mnist, 'eval_y.npy'), '--reference', model, '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const r = JSON.parse(ev.stdout);
    expect(r.reference.value - r.value).toBeLessThan(1);
  });
});

describe('output similarity against the float model, every output', () => {
  it('--metric cosine|sqnr|mse compares each output of a two-output model and averages them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-sim-'));
    // LeNet that also returns its fc1 activations: two outputs, [batch, 10] and [batch, 120]
    const m = loadModel(lenet);
    const fc1 = m.graph.nodes.find((n) => n.opType === 'Gemm')!.output[0];
    m.graph.outputs.push(makeValueInfo(fc1, DT.FLOAT, ['batch', 120]));
    const model = join(dir, 'lenet_two_outputs.onnx');
    saveModel(m, model);
    const cal = qtuneSync(['calibrate', '--model', model, '--data', join(mnist, 'calib_x.npy'), '--batch-size', '32', '--save-path', join(dir, 'q')]);
    expect(cal.code, cal.stderr).toBe(0);
    const quant = join(dir, 'q_quant_model.onnx');
    const data = join(mnist, 'eval_x.npy');
    const sim = (metric: string, against: string) => {
      const r = qtuneSync(['evaluate', '--model', against, '--data', data, '--limit', '256', '--metric', metric, '--reference', model, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).result.similarity as { metric: string; value: number; outputs: { name: string; cosine: number; sqnrDb: number; mse: number }[] };
    };
    const cos = sim('cosine', quant);
    expect(cos.outputs.map((o) => o.name)).toEqual(['logits', fc1]);
    for (const o of cos.outputs) {
      expect(o.cosine).toBeGreaterThan(0.99);
      expect(o.cosine).toBeLessThan(1);
      expect(o.mse).toBeGreaterThan(0);
    }
    expect(cos.value).toBeCloseTo((cos.outputs[0].cosine + cos.outputs[1].cosine) / 2, 12);
    const sqnr = sim('sqnr', quant);
    expect(sqnr.value).toBeCloseTo((sqnr.outputs[0].sqnrDb + sqnr.outputs[1].sqnrDb) / 2, 12);
    expect(sqnr.value).toBeGreaterThan(20);
    // the float model against itself: identical outputs
    const same = sim('mse', model);
    expect(same.value).toBe(0);
    expect(same.outputs.every((o) => o.cosine === 1)).toBe(true);
    const noRef = qtuneSync(['evaluate', '--model', quant, '--data', data, '--metric', 'cosine']);
    expect(noRef.code).not.toBe(0);
    expect(errorLines(noRef)).toEqual(['qtune: error: --metric cosine needs --reference <float.onnx>']);
  });
});
