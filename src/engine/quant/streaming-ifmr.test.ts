import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../shared/seeded-random';
import { DEFAULT_IFMR_PARAMS, binOf, candidateRatios, ifmrSearch, quantizerFor, type IfmrParams } from './ifmr';
import { ExtremeKeeper, HISTOGRAM_MAX_BINS, MergedHistogram, finishIfmr, lossBounds, planIfmr, type TensorSummary } from './streaming-ifmr';

/** Σ (Q(x) − x)² the plain way. */
function plainLoss(values: Float32Array, ratio: number, maxInit: number, minInit: number, p: IfmrParams): number {
  const q = quantizerFor(ratio, maxInit, minInit, p);
  let sum = 0;
  for (const x of values) {
    const d = binOf(x, q) * q.s - x;
    sum += d * d;
  }
  return sum;
}

function minMax(v: Float32Array): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const x of v) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}

/** Long-tailed, ReLU-like values: many zeros, a dense bulk, a few outliers. */
function activations(n: number, seed: number): Float32Array {
  const rnd = seededRandom(seed);
  return Float32Array.from({ length: n }, () => {
    const u = rnd();
    if (u < 0.4) return 0;
    const g = -Math.log(1 - rnd()) * 0.8;
    return u > 0.9995 ? g * 9 : g;
  });
}

/** Streams `batches` through the keepers and histogram as calibration does (every value arrives). */
function summarize(batches: Float32Array[], k: number): TensorSummary {
  const s: TensorSummary = { count: 0, min: Infinity, max: -Infinity, top: new ExtremeKeeper(k, true), bottom: new ExtremeKeeper(k, false), histogram: new MergedHistogram() };
  for (const b of batches) {
    const [lo, hi] = minMax(b);
    s.min = Math.min(s.min, lo);
    s.max = Math.max(s.max, hi);
    s.top.add(b, -Infinity);
    s.bottom.add(b, Infinity);
    s.histogram.add(b, lo, hi);
    s.count += b.length;
  }
  return s;
}

describe('ExtremeKeeper', () => {
  it('keeps the k largest across batches, filling a batch\'s rest with its threshold', () => {
    const top = new ExtremeKeeper(3, true);
    top.add(new Float32Array([9, 7]), 5); // the batch had at least 3 values >= 5: 9, 7 and a 5
    top.add(new Float32Array([8]), 6);
    expect([1, 2, 3].map((r) => top.rank(r))).toEqual([9, 8, 7]);
    const bottom = new ExtremeKeeper(2, false);
    bottom.add(new Float32Array([]), 0); // ReLU output: two zeros at least
    bottom.add(new Float32Array([-1]), 0);
    expect([bottom.rank(1), bottom.rank(2)]).toEqual([-1, 0]);
    expect(() => bottom.rank(3)).toThrow(/not kept/);
  });
});

describe('MergedHistogram', () => {
  it('keeps exact moments when later batches widen the range and coarsen the grid', () => {
    const h = new MergedHistogram();
    const batches = [Float32Array.from([0.5, 0.25, 0.001]), Float32Array.from([3, -2, 0.5]), Float32Array.from([1000.5, 0])];
    for (const b of batches) h.add(b, ...minMax(b));
    const all = batches.flatMap((b) => [...b]);
    expect(h.count).toBe(all.length);
    const p = h.prefixSums();
    expect(p.c[h.bins]).toBe(all.length);
    expect(p.s1[h.bins]).toBeCloseTo(all.reduce((a, c) => a + c, 0), 9);
    expect(h.total()).toBeCloseTo(all.reduce((a, c) => a + c, 0), 9);
    expect(p.s2[h.bins]).toBeCloseTo(all.reduce((a, c) => a + c * c, 0), 6);
    expect(h.bins).toBeLessThanOrEqual(HISTOGRAM_MAX_BINS);
    expect(Number.isInteger(Math.log2(h.width))).toBe(true);
    // every value sits in the bin the grid says
    for (const x of all) {
      const j = Math.floor((x - h.origin) / h.width);
      expect(h.countOf(j)).toBeGreaterThan(0);
    }
  });
});

describe('lossBounds', () => {
  it('brackets the exact loss of every candidate, tightly', () => {
    const v = activations(200_000, 11);
    for (const p of [DEFAULT_IFMR_PARAMS, { ...DEFAULT_IFMR_PARAMS, asymmetric: true, maxPercentile: 0.9999 }]) {
      const ref = ifmrSearch(v, p);
      const s = summarize([v.subarray(0, 70_000), v.subarray(70_000)], 64);
      for (const [i, r] of candidateRatios(p).entries()) {
        const exact = plainLoss(v, r, ref.maxInit, ref.minInit, p);
        const b = lossBounds(s.histogram, quantizerFor(r, ref.maxInit, ref.minInit, p));
        expect(b.lower).toBeLessThanOrEqual(exact);
        expect(b.upper).toBeGreaterThanOrEqual(exact);
        expect((b.upper - b.lower) / exact).toBeLessThan(1e-3);
        expect(Math.abs(ref.losses[i] * v.length - exact) / exact).toBeLessThan(1e-9);
      }
    }
  });
});

describe('planIfmr + finishIfmr', () => {
  it('gives the sort-based search\'s choice, measuring only the candidates the bounds leave open', () => {
    const cases: [Float32Array, IfmrParams][] = [
      [activations(100_000, 3), DEFAULT_IFMR_PARAMS],
      [activations(100_000, 4), { ...DEFAULT_IFMR_PARAMS, asymmetric: true }],
      // a step of 0.0001 makes neighbouring candidates nearly equal: the bounds cannot part them
      [activations(50_000, 5), { ...DEFAULT_IFMR_PARAMS, searchRange: [0.99, 1.01], searchStep: 0.0001 }],
      // integers: many values exactly on rounding ties
      [Float32Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 255 - 60), { ...DEFAULT_IFMR_PARAMS, asymmetric: true, minPercentile: 0.99 }],
      [new Float32Array(1000), DEFAULT_IFMR_PARAMS], // all zero
    ];
    let measured = 0;
    for (const [v, p] of cases) {
      const ref = ifmrSearch(v, p);
      const s = summarize([v.subarray(0, v.length >> 1), v.subarray(v.length >> 1)], 2048);
      const plan = planIfmr(s, p);
      const exact = new Map(plan.undecided.map((i) => [i, plainLoss(v, plan.ratios[i], plan.maxInit, plan.minInit, p)]));
      measured += plan.undecided.length;
      const got = finishIfmr(plan, s.count, exact);
      expect(got.maxInit).toBe(ref.maxInit);
      expect(got.minInit).toBe(ref.minInit);
      expect(got.bestIndex).toBe(ref.bestIndex);
      expect(got.scale).toBe(ref.scale);
      expect(got.offset).toBe(ref.offset);
      expect(got.approximate).toBe(false);
    }
    expect(measured).toBeGreaterThan(0); // the near-tie case did need exact measurement
  });
});
