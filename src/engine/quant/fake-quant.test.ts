import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { ort } from '../onnx';
import { dequantizeValue, fakeQuantize, quantizeTensor, quantizeValue, roundHalfEven } from './fake-quant';

const qdqModel = fileURLToPath(new URL('./testdata/qdq-int8.onnx', import.meta.url));

async function runOrt(x: Float32Array, scale: number, zeroPoint: number): Promise<{ q: Int8Array; y: Float32Array }> {
  const session = await ort.InferenceSession.create(qdqModel);
  const out = await session.run({
    x: new ort.Tensor('float32', x, [x.length]),
    scale: new ort.Tensor('float32', Float32Array.of(scale), []),
    zero_point: new ort.Tensor('int8', Int8Array.of(zeroPoint), []),
  });
  return { q: out.q.data as Int8Array, y: out.y.data as Float32Array };
}

describe('roundHalfEven', () => {
  it('rounds halves to the even neighbour and the rest to nearest', () => {
    const cases: [number, number][] = [
      [0.5, 0], [1.5, 2], [2.5, 2], [-0.5, -0], [-1.5, -2], [-2.5, -2], [3.5, 4], [126.5, 126], [127.5, 128],
      [0.49999999999999994, 0], [2.4, 2], [2.6, 3], [-2.6, -3], [-2.4, -2], [7, 7], [-7, -7],
    ];
    for (const [x, want] of cases) expect(roundHalfEven(x)).toBe(want);
  });
});

describe('quantizeValue / fakeQuantize', () => {
  it('quantizes by hand-computed examples', () => {
    expect(quantizeValue(0.25, 0.1, 0)).toBe(2); // 2.5 -> 2
    expect(quantizeValue(0.35, 0.1, 0)).toBe(4); // float32 0.35/0.1 = 3.5 -> 4
    expect(quantizeValue(100, 0.1, 0)).toBe(127);
    expect(quantizeValue(-100, 0.1, 0)).toBe(-128);
    expect(quantizeValue(0, 1 / 255, -128)).toBe(-128);
    expect(quantizeValue(1, 1 / 255, -128)).toBe(127);
    expect(dequantizeValue(-128, 1 / 255, -128)).toBe(0);
  });

  it('equals ONNX Runtime QuantizeLinear/DequantizeLinear bit for bit, ties included', async () => {
    const cases: [number, number][] = [[0.0123, 0], [0.05, -7], [1 / 255, -128], [0.1, 3], [3.7e-5, 0]];
    for (const [scale, zp] of cases) {
      const n = 4000;
      const x = new Float32Array(n);
      let seed = 7;
      for (let i = 0; i < n; i++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const u = seed / 4294967296;
        // a third random, a third exactly on k + 0.5 steps, a third outside the int8 range
        x[i] = i % 3 === 0 ? (u - 0.5) * 300 * scale : i % 3 === 1 ? (Math.floor(u * 300) - 150 + 0.5) * scale : (u - 0.5) * 1000 * scale;
      }
      const sf = Math.fround(scale);
      const ours = quantizeTensor(x, sf, zp);
      const fake = fakeQuantize(x, sf, zp);
      const theirs = await runOrt(x, sf, zp);
      expect(Array.from(ours)).toEqual(Array.from(theirs.q));
      expect(Array.from(fake)).toEqual(Array.from(theirs.y));
    }
  });
});
