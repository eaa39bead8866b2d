import { describe, expect, it } from 'vitest';
import { QtuneError } from '../../shared/errors';
import { arqQuantize, quantizeBias } from './arq';

const f32 = (...v: number[]) => Float32Array.from(v);

/** Plain reference: scale per channel from the channel's own values, codes by round-half-even in float32. */
function naiveChannel(values: number[]): { scale: number; codes: number[] } {
  const mx = Math.max(...values);
  const mn = Math.min(...values);
  const a = Math.abs(mx) > Math.abs(mn) ? mx : mn;
  let scale = a > 0 ? a / 127 : -a / 128;
  if (scale < 1.1920929e-7) scale = 1;
  scale = Math.fround(scale);
  const codes = values.map((w) => {
    const t = Math.fround(Math.fround(w) / scale);
    const f = Math.floor(t);
    const r = t - f < 0.5 ? f : t - f > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
    return Math.min(127, Math.max(-128, r));
  });
  return { scale, codes };
}

function randomWeights(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 4294967296 - 0.5) * 0.4;
  });
}

describe('arqQuantize', () => {
  it('quantizes per tensor by the 127/128 rule (hand-computed)', () => {
    const r = arqQuantize(f32(0.5, -1.0, 0.25, 1.27), [4], { channelWise: false, channelAxis: 0 });
    expect(r.scales[0]).toBe(Math.fround(0.01));
    expect(Array.from(r.int8)).toEqual([50, -100, 25, 127]);
    expect(Array.from(r.offsets)).toEqual([0]);
    expect(r.axis).toBeNull();
    const neg = arqQuantize(f32(-2.56, 1, 0.03), [3], { channelWise: false, channelAxis: 0 });
    expect(neg.scales[0]).toBe(Math.fround(0.02));
    expect(Array.from(neg.int8)).toEqual([-128, 50, 2]); // 0.03 / 0.02 = 1.5 -> 2
  });

  it('quantizes Conv weights per output channel (axis 0); an all-zero channel gets scale 1', () => {
    const r = arqQuantize(f32(1.27, -0.5, 0, 0, -0.64, 0.32), [3, 1, 1, 2], { channelWise: true, channelAxis: 0 });
    expect(Array.from(r.scales)).toEqual([Math.fround(0.01), 1, Math.fround(0.005)]);
    expect(Array.from(r.int8)).toEqual([127, -50, 0, 0, -128, 64]);
    expect(r.axis).toBe(0);
    expect(r.offsets).toHaveLength(3);
  });

  it('matches the plain reference on a random Conv weight, per channel and per tensor', () => {
    const shape = [16, 8, 3, 3];
    const w = randomWeights(16 * 8 * 9, 3);
    const per = 8 * 9;
    const r = arqQuantize(w, shape, { channelWise: true, channelAxis: 0 });
    for (let c = 0; c < 16; c++) {
      const ref = naiveChannel(Array.from(w.subarray(c * per, (c + 1) * per)));
      expect(r.scales[c]).toBe(ref.scale);
      expect(Array.from(r.int8.subarray(c * per, (c + 1) * per))).toEqual(ref.codes);
    }
    const t = arqQuantize(w, shape, { channelWise: false, channelAxis: 0 });
    const ref = naiveChannel(Array.from(w));
    expect(t.scales[0]).toBe(ref.scale);
    expect(Array.from(t.int8)).toEqual(ref.codes);
  });

  it('uses axis 1 per group for ConvTranspose weights (Cin, Cout/g, k, k)', () => {
    const [cin, coutPerGroup, k, group] = [4, 3, 2, 2];
    const shape = [cin, coutPerGroup, k, k];
    const w = randomWeights(cin * coutPerGroup * k * k, 5);
    const r = arqQuantize(w, shape, { channelWise: true, channelAxis: 1, group });
    expect(r.scales).toHaveLength(group * coutPerGroup);
    for (let g = 0; g < group; g++) {
      for (let j = 0; j < coutPerGroup; j++) {
        const vals: number[] = [];
        const at: number[] = [];
        for (let c = g * (cin / group); c < (g + 1) * (cin / group); c++) {
          for (let e = 0; e < k * k; e++) {
            const i = (c * coutPerGroup + j) * k * k + e;
            vals.push(w[i]);
            at.push(i);
          }
        }
        const ref = naiveChannel(vals);
        expect(r.scales[g * coutPerGroup + j]).toBe(ref.scale);
        expect(at.map((i) => r.int8[i])).toEqual(ref.codes);
      }
    }
  });

  it('can take the last axis as the channel (MatMul layout)', () => {
    const w = randomWeights(5 * 4, 9);
    const r = arqQuantize(w, [5, 4], { channelWise: true, channelAxis: 1 });
    for (let j = 0; j < 4; j++) {
      const ref = naiveChannel([0, 1, 2, 3, 4].map((i) => w[i * 4 + j]));
      expect(r.scales[j]).toBe(ref.scale);
    }
  });

  it('rejects bad input with the layer named', () => {
    expect(() => arqQuantize(f32(1, 2, 3), [2, 2], { channelWise: true, channelAxis: 0, layer: 'conv1' })).toThrow(/conv1/);
    expect(() => arqQuantize(f32(1, NaN), [2], { channelWise: false, channelAxis: 0, layer: 'fc2' })).toThrow(/fc2/);
    expect(() => arqQuantize(f32(1, 2), [2], { channelWise: true, channelAxis: 3, layer: 'fc3' })).toThrow(QtuneError);
  });
});

describe('quantizeBias', () => {
  it('divides by scale_w * scale_d and rounds half to even', () => {
    expect(Array.from(quantizeBias(f32(1, -1), f32(0.01, 0.02), 0.5))).toEqual([
      Math.round(1 / Math.fround(Math.fround(0.01) * 0.5)),
      Math.round(-1 / Math.fround(Math.fround(0.02) * 0.5)),
    ]);
    expect(Array.from(quantizeBias(f32(0.5, 1.5, 2.5, -2.5), f32(1), 1))).toEqual([0, 2, 2, -2]);
  });

  it('rejects a bias that does not fit int32, naming the layer', () => {
    expect(() => quantizeBias(f32(1e10), f32(1e-3), 1e-3, { layer: 'head' })).toThrow(/head.*int32/);
    try {
      quantizeBias(f32(-1e10), f32(1e-3), 1e-3, { layer: 'head' });
    } catch (e) {
      expect((e as QtuneError).code).toBe('bias_overflow');
      expect((e as QtuneError).details.layer).toBe('head');
    }
    expect(() => quantizeBias(f32(1, 2), f32(1, 2, 3), 1, { layer: 'x' })).toThrow(/x/);
  });
});
