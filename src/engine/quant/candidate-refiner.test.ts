import { describe, expect, it } from 'vitest';
import { CandidateRefiner } from './candidate-refiner';
import { DEFAULT_IFMR_PARAMS, ifmrSearch, type IfmrParams } from './ifmr';
import { activations, plainLoss, summarize } from './ifmr-testing';
import { finishIfmr, planIfmr } from './streaming-ifmr';

/** Two halves, the second with a wider range: the histogram regrids between them. */
const halves = (v: Float32Array) => [v.subarray(0, v.length >> 1), v.subarray(v.length >> 1)];

describe('CandidateRefiner', () => {
  it('sums the open candidates\' exact losses from the crossed bins alone and proves the sort-based choice', () => {
    const near = { searchRange: [0.9, 1.1] as [number, number], searchStep: 0.0005 };
    const cases: [Float32Array, IfmrParams][] = [
      [activations(60_000, 6), { ...DEFAULT_IFMR_PARAMS, ...near, asymmetric: true }],
      [activations(60_000, 9), { ...DEFAULT_IFMR_PARAMS, ...near, asymmetric: true }],
      [activations(60_000, 6), { ...DEFAULT_IFMR_PARAMS, ...near }],
    ];
    let open = 0;
    for (const [v, p] of cases) {
      const ref = ifmrSearch(v, p);
      const s = summarize(halves(v), 2048);
      const plan = planIfmr(s, p);
      open += plan.undecided.length;
      const refiner = new CandidateRefiner(s.histogram, plan);
      // batched differently from the summary pass: only the values matter
      for (let at = 0; at < v.length; at += 7000) refiner.add(v.subarray(at, at + 7000));
      const sums = refiner.result();
      expect(sums).toBeDefined();
      for (const [i, sum] of sums!) {
        const exact = plainLoss(v, plan.ratios[i], plan.maxInit, plan.minInit, p);
        expect(Math.abs(sum - exact) / exact).toBeLessThan(1e-10);
      }
      const got = finishIfmr(plan, s.count, sums);
      expect([got.bestIndex, got.scale, got.offset]).toEqual([ref.bestIndex, ref.scale, ref.offset]);
    }
    expect(open).toBeGreaterThan(10);
  });

  it('refuses (the caller measures another way) when the second pass saw other values, or two candidates tie', () => {
    const v = activations(60_000, 9);
    const p = { ...DEFAULT_IFMR_PARAMS, searchRange: [0.9, 1.1] as [number, number], searchStep: 0.0005, asymmetric: true };
    const s = summarize(halves(v), 2048);
    const plan = planIfmr(s, p);
    expect(plan.undecided.length).toBeGreaterThan(1);
    const missing = new CandidateRefiner(s.histogram, plan);
    missing.add(v.subarray(1000)); // the first 1000 values never came
    expect(missing.result()).toBeUndefined();
    const outside = new CandidateRefiner(s.histogram, plan);
    outside.add(v);
    outside.add(Float32Array.from([s.max * 4]));
    expect(outside.result()).toBeUndefined();

    // candidates with the very same quantizer (1 + 2^-53 rounds to 1): their losses tie exactly and the first
    // must win; the refiner cannot tell a tie from round-off, so it hands the layer on
    const twin = planIfmr(s, { ...p, searchRange: [1, 1 + 2 ** -52], searchStep: 2 ** -53 });
    expect(twin.undecided.slice(0, 2)).toEqual([0, 1]);
    expect(twin.quantizers[1]).toEqual(twin.quantizers[0]);
    const tie = new CandidateRefiner(s.histogram, twin);
    tie.add(v);
    expect(tie.result()).toBeUndefined();
  });
});
