import { describe, expect, it } from 'vitest';
import { DEFAULT_IFMR_PARAMS, candidateRatios, ifmrSearch, quantizerFor, type IfmrParams } from './ifmr';
import { activations, minMax, plainLoss, summarize } from './ifmr-testing';
import { HISTOGRAM_MAX_BINS, MergedHistogram } from './merged-histogram';
import { ExtremeKeeper, finishIfmr, lossBounds, planIfmr } from './streaming-ifmr';

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

describe('MergedHistogram grid', () => {
  it('keeps its grid while later batches fit in it, and merges when one does not', () => {
    const h = new MergedHistogram();
    h.add(Float32Array.from([0, 6]), 0, 6);
    const grid = { width: h.width, moments: h.moments };
    // a later batch a little wider (and one inside): the same grid, no new array, no coarser bins
    h.add(Float32Array.from([0, 6.5]), 0, 6.5);
    h.add(Float32Array.from([1, 2]), 1, 2);
    expect(h.moments).toBe(grid.moments);
    expect(h.width).toBe(grid.width);
    expect(h.count).toBe(6);
    // past the grid's capacity: twice as wide bins, the counts merged
    h.add(Float32Array.from([10]), 10, 10);
    expect(h.width).toBe(2 * grid.width);
    expect(h.count).toBe(7);
    expect(h.prefixSums().c[h.bins]).toBe(7);
    expect(h.total()).toBe(0 + 6 + 0 + 6.5 + 1 + 2 + 10);
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
