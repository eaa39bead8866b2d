import { describe, expect, it } from 'vitest';
import { cosine as cosineSimilarity } from '../eval/metrics';
import { compareTensors, KL_FLOOR } from './metrics';
import { compareTensorsScalar, lnRatio } from './metrics-scalar';

const f32 = (...v: number[]) => Float32Array.from(v);

/** A sum kept as hi + lo (Knuth's two-sum): exact to about 2^-106 of its terms. */
class ExactSum {
  hi = 0;
  lo = 0;
  add(v: number): void {
    const s = this.hi + v, b = s - this.hi;
    this.lo += (this.hi - (s - b)) + (v - b);
    this.hi = s;
  }
}

/**
 * The KL divergence of spec §7 from sums exact to far below the last bit, ln(p/q) by log1p where p is near
 * q, and ln(Q/P) from Q − P: the reference the implementations are held to (their plain sums would not be).
 */
function exactKl(x: Float32Array, y: Float32Array): number {
  let xMin = Infinity, xMax = -Infinity, yMin = Infinity, yMax = -Infinity;
  for (let i = 0; i < x.length; i++) {
    xMin = Math.min(xMin, x[i]); xMax = Math.max(xMax, x[i]); yMin = Math.min(yMin, y[i]); yMax = Math.max(yMax, y[i]);
  }
  const P = new ExactSum(), Q = new ExactSum(), A = new ExactSum();
  for (let i = 0; i < x.length; i++) {
    const p = Math.max(xMax > xMin ? (x[i] - xMin) / (xMax - xMin) : 0, KL_FLOOR);
    const q = Math.max(yMax > yMin ? (y[i] - yMin) / (yMax - yMin) : 0, KL_FLOOR);
    P.add(p);
    Q.add(q);
    A.add(p * (Math.abs(p / q - 1) < 0.5 ? Math.log1p((p - q) / q) : Math.log(p / q)));
  }
  const u = ((Q.hi - P.hi) + (Q.lo - P.lo)) / P.hi; // Q/P − 1
  const lnQP = Math.abs(u) < 0.5 ? Math.log1p(u) : Math.log((Q.hi + Q.lo) / (P.hi + P.lo));
  return (A.hi + A.lo) / (P.hi + P.lo) + lnQP;
}

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

describe('the KL divergence at speed, as defined', () => {
  it('lnRatio agrees with Math.log(p / q) across ratios near 1 and far from it', () => {
    const ratios = [1, 1 + 1e-12, 1 - 1e-9, 1.0001, 0.999, 1.05, 0.95, 1.1332, 0.8826, 1.2, 0.5, 3, 1e-6, 1e6];
    for (const r of ratios) {
      for (const q of [KL_FLOOR, 1e-3, 0.37, 1]) {
        const p = q * r;
        const exact = Math.log(p / q);
        expect(Math.abs(lnRatio(p, q) - exact), `r = ${r}, q = ${q}`).toBeLessThanOrEqual(4e-16 * Math.max(1, Math.abs(exact)));
      }
    }
    expect(lnRatio(2, 2)).toBe(0);
  });
  it('compareTensors gives the definition\'s KL to 1e-12 on realistic tensors, whatever the order of its sums', () => {
    // a ReLU-like pair (many exact zeros, where p = q) and a signed one, x = y plus a small error; then sides
    // of one value or of zeros, where one side's normalised values are all the floor and P, Q lie far apart
    let seed = 3;
    const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
    const n = 50_000;
    const pairs: [string, Float32Array, Float32Array][] = [];
    for (const relu of [true, false]) {
      const y = new Float32Array(n), x = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const v = 4 * rand();
        y[i] = relu ? Math.max(0, v) : v;
        x[i] = relu ? Math.max(0, v + 0.02 * rand()) : v + 0.02 * rand();
      }
      pairs.push([relu ? 'relu' : 'signed', x, y]);
    }
    const varied = Float32Array.from({ length: n }, () => rand());
    pairs.push(['quantized side constant', new Float32Array(n).fill(40.03), varied]);
    pairs.push(['float side zero', varied, new Float32Array(n)]);
    pairs.push(['mostly zero', Float32Array.from(varied, (v, i) => (i % 100 ? 0 : v)), varied]);
    for (const [label, x, y] of pairs) {
      const reference = exactKl(x, y);
      expect(reference, label).toBeGreaterThan(1e-6);
      const results: [string, number][] = [
        ['kernel', compareTensors(x, y).KullbackLeiblerDivergence],
        ['definition', compareTensorsScalar(x, y).KullbackLeiblerDivergence],
      ];
      for (const [impl, kl] of results) {
        expect(Math.abs(kl - reference) / reference, `${label}, ${impl}`).toBeLessThanOrEqual(1e-12);
      }
    }
  });
});
