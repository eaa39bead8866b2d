// Models too large for one protobuf message (2 GiB): saved with external data
// by themselves, read back tensor by tensor, and given to onnxruntime through a
// file. QTUNE_INLINE_LIMIT_BYTES lowers the limit so a small model takes the
// same paths here; src/cli/model-storage.test.ts runs a real 2.2 GB model.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeNode, makeTensor, needsExternalData, ort, saveModel, loadModel, tensorToTypedArray, createSession } from '.';
import { modelOf } from '../../../test/fixtures/quant/build-models';

const weights = Float32Array.from({ length: 64 * 512 }, (_, i) => Math.sin(i) / 10);
const model = () => modelOf([makeNode('MatMul', ['x', 'w'], ['y'], { name: 'mm' })], [makeTensor('w', [64, 512], weights)], { name: 'x', shape: ['N', 64] }, ['y']);

afterEach(() => {
  delete process.env.QTUNE_INLINE_LIMIT_BYTES;
});

describe('models over the protobuf limit', () => {
  it('are saved with external data beside them, read back the same, and run in onnxruntime', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-extdata-'));
    const m = model();
    expect(needsExternalData(m)).toBe(false);
    process.env.QTUNE_INLINE_LIMIT_BYTES = String(64 * 1024); // the weight is 128 KiB
    expect(needsExternalData(m)).toBe(true);
    const file = join(dir, 'm.onnx');
    saveModel(m, file);
    expect(statSync(file).size).toBeLessThan(4096);
    expect(statSync(`${file}.data`).size).toBe(weights.byteLength);

    const back = loadModel(file);
    expect(Array.from(tensorToTypedArray(back.graph.initializers.find((t) => t.name === 'w')!) as Float32Array)).toEqual(Array.from(weights));

    // an in-memory model over the limit goes to onnxruntime through a private file, removed afterwards
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('qtune-session-')).length;
    const session = await createSession(back);
    const x = new ort.Tensor('float32', Float32Array.from({ length: 2 * 64 }, (_, i) => i / 100), [2, 64]);
    const y = (await session.run({ x })).y.data as Float32Array;
    await session.release();
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('qtune-session-')).length).toBe(before);
    delete process.env.QTUNE_INLINE_LIMIT_BYTES;
    const inline = await createSession(model());
    const ref = (await inline.run({ x })).y.data as Float32Array;
    await inline.release();
    expect(Array.from(y)).toEqual(Array.from(ref));
    expect(existsSync(join(dir, 'm.onnx.data'))).toBe(true);
  });
});
