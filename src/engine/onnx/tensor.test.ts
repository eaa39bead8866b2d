import { describe, expect, it } from 'vitest';
import { loadModelFromBytes, serializeModel } from './io';
import { DT, int64FromBigInt } from './proto';
import { createSession } from './ort';
import { makeSyntheticModel } from './synthetic';
import { randomTensor } from './testing';
import { emptyTensor, float16ToFloat32, makeInt64Tensor, makeTensor, tensorToFloat32, tensorToNumbers, tensorToTypedArray, toRawData } from './tensor';

describe('tensor data', () => {
  it('round-trips every supported element type through makeTensor and a save', () => {
    const cases = [
      Float32Array.of(1.5, -2, 3e-8, Infinity), Float64Array.of(Math.PI, -1), Int8Array.of(-128, 0, 127),
      Uint8Array.of(0, 255), Int32Array.of(-(2 ** 31), 2 ** 31 - 1), BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 5n),
    ];
    const m = makeSyntheticModel(5);
    cases.forEach((data, i) => m.graph.addInitializer(makeTensor(`t${i}`, [data.length], data)));
    const again = loadModelFromBytes(serializeModel(m));
    cases.forEach((data, i) => expect(tensorToTypedArray(again.graph.getInitializer(`t${i}`)!)).toEqual(data));
  });

  it('reads typed fields (float_data, int32_data for int8/float16, int64_data)', () => {
    expect(tensorToTypedArray(emptyTensor({ dims: [2], dataType: DT.FLOAT, floatData: [1, 2] }))).toEqual(Float32Array.of(1, 2));
    expect(tensorToTypedArray(emptyTensor({ dims: [2], dataType: DT.INT8, int32Data: [-3, 4] }))).toEqual(Int8Array.of(-3, 4));
    expect(tensorToTypedArray(emptyTensor({ dims: [1], dataType: DT.INT64, int64Data: [int64FromBigInt(2n ** 62n)] }))).toEqual(BigInt64Array.of(2n ** 62n));
    // float16 0x3c00 = 1, 0xc000 = -2, 0x0001 = smallest subnormal, 0x7c00 = inf
    const h = emptyTensor({ dims: [4], dataType: DT.FLOAT16, int32Data: [0x3c00, 0xc000, 0x0001, 0x7c00] });
    expect(tensorToFloat32(h)).toEqual(Float32Array.of(1, -2, 2 ** -24, Infinity));
    expect(float16ToFloat32(Uint16Array.of(0x3555))[0]).toBeCloseTo(0.33325, 5);
  });

  it('views aligned raw data without copying and copies misaligned data', () => {
    const backing = new Uint8Array(13);
    new Float32Array(backing.buffer, 4, 2).set([7, 8]);
    const aligned = tensorToTypedArray(emptyTensor({ dims: [2], dataType: DT.FLOAT, rawData: backing.subarray(4, 12) }));
    expect(aligned.buffer).toBe(backing.buffer);
    const shifted = new Uint8Array(13);
    shifted.set(backing.subarray(4, 12), 1);
    const mis = tensorToTypedArray(emptyTensor({ dims: [2], dataType: DT.FLOAT, rawData: shifted.subarray(1, 9) }));
    expect(mis).toEqual(Float32Array.of(7, 8));
  });

  it('rejects a length that does not match the dims', () => {
    expect(() => tensorToTypedArray(emptyTensor({ name: 'w', dims: [3], dataType: DT.FLOAT, floatData: [1, 2] }))).toThrow(/Tensor 'w'.*dims \[3\]/);
    expect(() => makeTensor('x', [2, 2], Float32Array.of(1))).toThrow(/do not fill dims/);
  });

  it('moves typed fields into raw data', () => {
    const t = emptyTensor({ dims: [2], dataType: DT.FLOAT, floatData: [3, 4] });
    toRawData(t);
    expect(t.floatData).toEqual([]);
    expect(tensorToNumbers(t)).toEqual([3, 4]);
    expect(tensorToNumbers(makeInt64Tensor('s', [1, -1]))).toEqual([1, -1]);
  });
});

describe('synthetic model', () => {
  it('runs in ORT and keeps values bounded', async () => {
    const m = makeSyntheticModel(50);
    expect(m.graph.nodes.length).toBe(50);
    const s = await createSession(m);
    const out = await s.run({ input: randomTensor([1, 4, 8, 8]) });
    const y = out[m.graph.outputs[0].name!].data as Float32Array;
    expect(y.every(Number.isFinite)).toBe(true);
    await s.release();
  });
});
