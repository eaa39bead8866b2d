// Models beyond the image classifiers, through the CLI as a user runs it:
// newer ONNX files (IR 10 metadata, element types qtune cannot quantize).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DT, UNKNOWN_FIELDS, decodeModelProto, emptyTensor, loadModel, makeNode, makeTensor, saveModel, toNum } from '../engine/onnx';
import { modelOf } from '../../test/fixtures/quant/build-models';
import { qtuneSync } from './testing';

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
