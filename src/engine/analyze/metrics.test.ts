import { describe, expect, it } from 'vitest';
import { cosine as cosineSimilarity } from '../eval/metrics';
import { compareTensors, KL_FLOOR } from './metrics';

const f32 = (...v: number[]) => Float32Array.from(v);

describe('compareTensors on a hand-computed pair', () => {
  // x = quantized [1, 2, 3, 4], y = float [1, 2, 2, 5]
  const m = compareTensors(f32(1, 2, 3, 4), f32(1, 2, 2, 5));

  it('cosine: x·y = 31, ‖x‖² = 30, ‖y‖² = 34', () => {
    expect(m.CosineSimilarity).toBeCloseTo(31 / Math.sqrt(30 * 34), 12);
  });
  it('absolute errors: diffs 0, 0, 1, -1', () => {
    expect(m.MaxAbsoluteError).toBe(1);
    expect(m.MeanAbsoluteError).toBeCloseTo(0.5, 12);
    expect(m.RootMeanSquareError).toBeCloseTo(Math.sqrt(2 / 4), 12);
  });
  it('relative errors: |x/y - 1| = 0, 0, 0.5, 0.2', () => {
    expect(m.AccumulatedRelativeError).toBeCloseTo(0.7, 12);
    expect(m.MaxRelativeError).toBeCloseTo(0.5, 12);
    expect(m.MeanRelativeError).toBeCloseTo(0.7 / 4, 12);
    expect(m.RelativeEuclideanDistance).toBeCloseTo(Math.sqrt(2 / 34), 12);
  });
  it('SQNR: 20·log10(sqrt(34) / sqrt(2))', () => {
    expect(m.SQNR).toBeCloseTo(10 * Math.log10(17), 10);
  });
  it('means and population standard deviations of each side', () => {
    expect(m.quantMean).toBeCloseTo(2.5, 12);
    expect(m.quantStd).toBeCloseTo(Math.sqrt(1.25), 12);
    expect(m.floatMean).toBeCloseTo(2.5, 12);
    // deviations -1.5, -0.5, -0.5, 2.5 → squares 2.25 + 0.25 + 0.25 + 6.25 = 9
    expect(m.floatStd).toBeCloseTo(Math.sqrt(9 / 4), 12);
  });
  it('KL: min-max normalised, floored, summed to 1, p from x', () => {
    // x → [0, 1/3, 2/3, 1], floor 0 → eps; y → [0, 1/4, 1/4, 1]
    const p = [KL_FLOOR, 1 / 3, 2 / 3, 1];
    const q = [KL_FLOOR, 1 / 4, 1 / 4, 1];
    const P = p.reduce((a, b) => a + b), Q = q.reduce((a, b) => a + b);
    let kl = 0;
    for (let i = 0; i < 4; i++) kl += (p[i] / P) * Math.log(p[i] / P / (q[i] / Q));
    expect(m.KullbackLeiblerDivergence).toBeCloseTo(kl, 12);
    expect(kl).toBeGreaterThan(0.01); // the test case is not trivially zero
  });
});

describe('edge cases', () => {
  it('identical tensors: cosine 1, zero errors, infinite SQNR, zero KL', () => {
    const a = f32(0.5, -1, 3);
    const m = compareTensors(a, a);
    expect(m.CosineSimilarity).toBe(1);
    expect(m.MaxAbsoluteError).toBe(0);
    expect(m.MeanRelativeError).toBe(0);
    expect(m.SQNR).toBe(Infinity);
    expect(m.KullbackLeiblerDivergence).toBeCloseTo(0, 12);
  });
  it('both all zero: cosine 1, relative Euclidean distance 0', () => {
    const m = compareTensors(f32(0, 0, 0), f32(0, 0, 0));
    expect(m.CosineSimilarity).toBe(1);
    expect(m.RelativeEuclideanDistance).toBe(0);
    expect(m.AccumulatedRelativeError).toBe(0);
    expect(m.SQNR).toBe(Infinity);
  });
  it('one side all zero: cosine NaN', () => {
    expect(cosineSimilarity(f32(0, 0), f32(1, 2))).toBeNaN();
    expect(cosineSimilarity(f32(1, 2), f32(0, 0))).toBeNaN();
    // float side zero, quantized not: relative distance 0 by definition, SQNR -Infinity
    const m = compareTensors(f32(1, 2), f32(0, 0));
    expect(m.RelativeEuclideanDistance).toBe(0);
    expect(m.SQNR).toBe(-Infinity);
  });
  it('elements with |y| <= EPS are left out of the relative errors but counted in the mean', () => {
    const m = compareTensors(f32(1, 3, 5), f32(0, 2, 1e-30));
    // only y = 2 counts: |3/2 - 1| = 0.5
    expect(m.AccumulatedRelativeError).toBeCloseTo(0.5, 12);
    expect(m.MaxRelativeError).toBeCloseTo(0.5, 12);
    expect(m.MeanRelativeError).toBeCloseTo(0.5 / 3, 12);
  });
  it('cosine is capped at 1 for parallel vectors with rounding', () => {
    const a = f32(0.1, 0.2, 0.3, 0.7, 1e-3);
    expect(cosineSimilarity(a, a)).toBeLessThanOrEqual(1);
    expect(cosineSimilarity(a, a)).toBeCloseTo(1, 12);
  });
  it('opposite vectors: cosine -1', () => {
    expect(cosineSimilarity(f32(1, -2), f32(-1, 2))).toBeCloseTo(-1, 12);
  });
  it('constant sides in KL fall to the uniform distribution', () => {
    const m = compareTensors(f32(2, 2, 2), f32(5, 5, 5));
    expect(m.KullbackLeiblerDivergence).toBeCloseTo(0, 12);
    const u = compareTensors(f32(2, 2, 2), f32(0, 0, 1));
    // p uniform (eps each), q = [eps, eps, 1]/(1+2eps)
    const q = [KL_FLOOR, KL_FLOOR, 1].map((v) => v / (1 + 2 * KL_FLOOR));
    const expected = q.reduce((s, qi) => s + (1 / 3) * Math.log(1 / 3 / qi), 0);
    expect(u.KullbackLeiblerDivergence).toBeCloseTo(expected, 9);
  });
  it('mismatched lengths are an error', () => {
    expect(() => compareTensors(f32(1), f32(1, 2))).toThrow(/1 and 2 elements/);
  });
  it('accumulates in float64: large vectors of float32 values keep full precision', () => {
    const n = 1_000_000;
    const y = new Float32Array(n).fill(1);
    const x = new Float32Array(n).fill(1);
    x[0] = 1 + 2 ** -10;
    const m = compareTensors(x, y);
    expect(m.MeanAbsoluteError).toBeCloseTo(2 ** -10 / n, 18);
    expect(m.SQNR).toBeCloseTo(10 * Math.log10(n / 2 ** -20), 8);
  });
});
