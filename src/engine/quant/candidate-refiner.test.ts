import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../shared/seeded-random';
import { CandidateRefiner } from './candidate-refiner';
import { DEFAULT_IFMR_PARAMS, binOf, ifmrSearch, quantizerFor, type IfmrParams } from './ifmr';
import { ExtremeKeeper, MergedHistogram, finishIfmr, planIfmr, type TensorSummary } from './streaming-ifmr';

function plainLoss(values: Float32Array, ratio: number, maxInit: number, minInit: number, p: IfmrParams): number {
  const q = quantizerFor(ratio, maxInit, minInit, p);
  let sum = 0;
  for (const x of values) {
    const d = binOf(x, q) * q.s - x;
    sum += d * d;
  }
  return sum;
}

function activations(n: number, seed: number): Float32Array {
  const rnd = seededRandom(seed);
  return Float32Array.from({ length: n }, () => {
    const u = rnd();
    if (u < 0.4) return 0;
    const g = -Math.log(1 - rnd()) * 0.8;
    return u > 0.9995 ? g * 9 : g;
  });
}

function summarize(batches: Float32Array[], k: number): TensorSummary {
  const s: TensorSummary = { count: 0, min: Infinity, max: -Infinity, top: new ExtremeKeeper(k, true), bottom: new ExtremeKeeper(k, false), histogram: new MergedHistogram() };
  for (const b of batches) {
    let lo = Infinity, hi = -Infinity;
    for (const x of b) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    s.min = Math.min(s.min, lo);
    s.max = Math.max(s.max, hi);
    s.top.add(b, -Infinity);
    s.bottom.add(b, Infinity);
    s.histogram.add(b, lo, hi);
    s.count += b.length;
  }
  return s;
}

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
