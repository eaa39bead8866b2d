import { describe, expect, it } from 'vitest';
import { QtuneError } from '../../shared/errors';
import { seededRandom } from '../../shared/seeded-random';
import {
  DEFAULT_IFMR_PARAMS,
  buildIfmrHistogram,
  candidateCount,
  ifmrSearch,
  ifmrSearchHistogram,
  type IfmrParams,
} from './ifmr';

// ---- the plain reference: the spec's steps, one loop per candidate and value ----

function refRound(t: number): number {
  const f = Math.floor(t);
  const frac = t - f;
  if (frac < 0.5) return f;
  if (frac > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

interface RefResult {
  scale: number;
  offset: number;
  bestIndex: number;
  losses: number[];
  maxInit: number;
  minInit: number;
}

function naiveIfmr(data: Float32Array, p: IfmrParams, only?: number[]): RefResult {
  const n = data.length;
  const sorted = data.slice().sort();
  const rank = (pct: number) => (Math.abs(pct - 1) < 1e-12 ? 1 : n - Math.floor(pct * n));
  const maxInit = Math.max(sorted[n - rank(p.maxPercentile)], 0);
  const minInit = Math.min(sorted[rank(p.minPercentile) - 1], 0);
  const [start, end] = p.searchRange;
  const m = Math.floor((end - start) / p.searchStep + 1e-6) + 1;
  const quantizer = (i: number) => {
    const ratio = start + i * p.searchStep;
    if (p.asymmetric) {
      const cand = ratio * maxInit;
      return { lo: minInit, hi: cand, s: (cand - minInit) / 255 };
    }
    const a = Math.abs(maxInit) > Math.abs(minInit) ? maxInit : minInit;
    const L = a > 0 ? 127 : 128;
    const cand = ratio * Math.abs(a);
    return { lo: -cand, hi: cand, s: cand / L };
  };
  const losses: number[] = [];
  for (let i = 0; i < m; i++) {
    if (only && !only.includes(i)) {
      losses.push(NaN);
      continue;
    }
    const { lo, hi, s } = quantizer(i);
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const x = data[j];
      const q = s === 0 ? 0 : refRound(Math.min(Math.max(x, lo), hi) / s) * s;
      sum += (q - x) * (q - x);
    }
    losses.push(sum / n);
  }
  let best = -1;
  for (let i = 0; i < m; i++) if (!Number.isNaN(losses[i]) && (best < 0 || losses[i] < losses[best])) best = i;
  let scale = quantizer(best).s;
  let offset = p.asymmetric ? -refRound(minInit / scale) - 128 : 0;
  if (scale < 1.1920929e-7) {
    scale = 1;
    offset = p.asymmetric ? -128 : 0;
  }
  return { scale, offset: offset + 0, bestIndex: best, losses, maxInit, minInit };
}

// ---- data generators (seeded) ----

const rng = seededRandom;

function normal(n: number, seed: number, mean = 0, std = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - r();
    out[i] = mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}

function uniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

const sym = (over: Partial<IfmrParams> = {}): IfmrParams => ({ ...DEFAULT_IFMR_PARAMS, asymmetric: false, ...over });
const asym = (over: Partial<IfmrParams> = {}): IfmrParams => ({ ...DEFAULT_IFMR_PARAMS, asymmetric: true, ...over });

function expectSameAsReference(data: Float32Array, p: IfmrParams): void {
  const ref = naiveIfmr(data, p);
  const got = ifmrSearch(data, p);
  expect(got.maxInit).toBe(ref.maxInit);
  expect(got.minInit).toBe(ref.minInit);
  expect(got.bestIndex).toBe(ref.bestIndex);
  expect(Math.abs(got.scale - ref.scale)).toBeLessThanOrEqual(1e-6 * ref.scale);
  expect(got.offset).toBe(ref.offset);
  for (let i = 0; i < ref.losses.length; i++) {
    expect(Math.abs(got.losses[i] - ref.losses[i])).toBeLessThanOrEqual(1e-9 * ref.losses[i] + 1e-30);
  }
}

const relu = (d: Float32Array) => d.map((x) => (x > 0 ? x : 0));

const datasets: [string, () => Float32Array][] = [
  ['normal', () => normal(20_000, 1)],
  ['normal with a mean far from zero', () => normal(20_000, 2, 1000, 1)],
  ['uniform [0, 6]', () => uniform(20_000, 3, 0, 6)],
  ['relu-like, half zero', () => relu(normal(20_000, 4))],
  ['heavy tail (cubed normal)', () => normal(20_000, 5).map((x) => x * x * x)],
  ['all negative', () => uniform(5_000, 6, -9, -0.5)],
  ['all zero', () => new Float32Array(1000)],
  ['constant 2.5', () => new Float32Array(1000).fill(2.5)],
  ['constant -3', () => new Float32Array(777).fill(-3)],
  ['one huge outlier', () => { const d = normal(10_000, 7); d[1234] = 1e6; return d; }],
  ['N = 1', () => Float32Array.of(0.731)],
  ['N = 1 negative', () => Float32Array.of(-4)],
  ['repeated values', () => { const r = rng(8); return Float32Array.from({ length: 5000 }, () => [-1, 0, 0.5, 2, 3.25][Math.floor(r() * 5)]); }],
  ['small integers (many exact ties)', () => { const r = rng(9); return Float32Array.from({ length: 4000 }, () => Math.floor(r() * 256) - 128); }],
  ['tiny values', () => normal(3000, 10, 0, 1e-9)],
];

describe('ifmrSearch', () => {
  it('uses 61 candidates 0.70 … 1.30 for the defaults', () => {
    expect(candidateCount(DEFAULT_IFMR_PARAMS)).toBe(61);
    const r = ifmrSearch(normal(1000, 11), sym());
    expect(r.candidates).toHaveLength(61);
    expect(r.losses).toHaveLength(61);
    expect(r.candidates[0]).toBeCloseTo(0.7, 12);
    expect(r.candidates[60]).toBeCloseTo(1.3, 12);
    expect(candidateCount(sym({ searchRange: [0.5, 1.0], searchStep: 0.05 }))).toBe(11);
    expect(r.count).toBe(1000);
    expect(r.approximate).toBe(false);
  });

  for (const [name, make] of datasets) {
    it(`matches the plain reference, symmetric: ${name}`, () => expectSameAsReference(make(), sym()));
    it(`matches the plain reference, asymmetric: ${name}`, () => expectSameAsReference(make(), asym()));
  }

  it('matches the reference with non-default parameters', () => {
    const d = normal(30_000, 12).map((x) => (x > 0 ? x * 2 : x * 0.3));
    for (const p of [
      { maxPercentile: 0.99, minPercentile: 0.99 },
      { searchRange: [0.5, 1.0] as [number, number], searchStep: 0.05 },
      { maxPercentile: 1, minPercentile: 0.9, searchRange: [0.9, 1.1] as [number, number], searchStep: 0.003 },
    ]) {
      expectSameAsReference(d, sym(p));
      expectSameAsReference(d, asym(p));
    }
  });

  it('sends values exactly on a bin tie to the even neighbour, as the reference does', () => {
    // maxInit = 127 (symmetric, L = 127) gives s = ratio; at ratio 1 every k + 0.5 is a tie.
    const d = new Float32Array(2000);
    for (let i = 0; i < d.length; i++) d[i] = ((i % 254) - 127) + (i % 2 === 0 ? 0.5 : 0);
    d[0] = 127;
    const p = sym({ maxPercentile: 1, minPercentile: 1, searchRange: [0.9, 1.1], searchStep: 0.1 });
    expectSameAsReference(d, p);
    const ref = naiveIfmr(d, p);
    const got = ifmrSearch(d, p);
    expect(got.losses[1]).toBe(ref.losses[1]); // all ties at ratio 1: errors of exactly 0.25 or 0
  });

  it('matches the reference on many small tie-heavy inputs (seeded fuzz)', () => {
    const r = rng(99);
    for (let t = 0; t < 400; t++) {
      const n = 1 + Math.floor(r() * (t % 4 === 0 ? 6 : 400));
      const kind = t % 4;
      const d = Float32Array.from({ length: n }, () => {
        const u = r();
        if (kind === 0) return Math.round((u - 0.3) * 20) / 4;
        if (kind === 1) return u < 0.5 ? 0 : u * 3;
        if (kind === 2) return Math.floor(u * 10) - 3;
        return (u - 0.4) ** 3 * 100;
      });
      const p: IfmrParams = {
        maxPercentile: [1, 0.999999, 0.9, 0.75][t % 4],
        minPercentile: [1, 0.99, 0.6][t % 3],
        searchRange: ([[0.7, 1.3], [0.5, 1.0], [0.9, 1.1]] as [number, number][])[t % 3],
        searchStep: [0.01, 0.05, 0.003][t % 3],
        asymmetric: t % 2 === 0,
      };
      const ref = naiveIfmr(d, p);
      const got = ifmrSearch(d, p);
      expect([t, got.bestIndex, got.offset]).toEqual([t, ref.bestIndex, ref.offset]);
      expect(Math.abs(got.scale - ref.scale)).toBeLessThanOrEqual(1e-6 * ref.scale);
    }
  });

  it('accepts several calibration batches as one data set', () => {
    const a = normal(7000, 13);
    const b = normal(5000, 14, 0.5, 2);
    const joined = new Float32Array(12_000);
    joined.set(a);
    joined.set(b, 7000);
    const one = ifmrSearch(joined, asym());
    const two = ifmrSearch([a, b], asym());
    expect(two.scale).toBe(one.scale);
    expect(two.offset).toBe(one.offset);
    expect(two.count).toBe(12_000);
    expect(a[0]).toBe(normal(1, 13)[0]); // inputs left unsorted
  });

  it('gives the documented result for all-zero data', () => {
    const r = ifmrSearch(new Float32Array(100), asym());
    expect(r.scale).toBe(1);
    expect(r.offset).toBe(-128);
    const s = ifmrSearch(new Float32Array(100), sym());
    expect(s.scale).toBe(1);
    expect(s.offset).toBe(0);
  });

  it('computes the asymmetric offset from minInit', () => {
    // data in [0, 1]: maxInit 1, minInit 0 -> offset -128
    const d = uniform(10_000, 15, 0, 1);
    d[0] = 1;
    d[1] = 0;
    const r = ifmrSearch(d, asym({ maxPercentile: 1, minPercentile: 1 }));
    expect(r.offset).toBe(-128);
    expect(r.clipMin).toBe(0);
    expect(r.scale).toBeCloseTo(r.clipMax / 255, 12);
  });

  it('rejects NaN and infinite values, naming the layer', () => {
    const d = normal(100, 16);
    d[50] = NaN;
    expect(() => ifmrSearch(d, sym(), { layer: 'conv7' })).toThrow(QtuneError);
    expect(() => ifmrSearch(d, sym(), { layer: 'conv7' })).toThrow(/conv7.*NaN/);
    const e = normal(100, 16);
    e[3] = -Infinity;
    expect(() => ifmrSearch([normal(10, 1), e], sym(), { layer: 'fc' })).toThrow(/fc.*infinite/);
    expect(() => ifmrSearch(new Float32Array(0), sym(), { layer: 'fc' })).toThrow(/fc/);
  });

  it('matches the full plain reference on 400k values', () => {
    const d = normal(400_000, 22, 0.2, 1.5).map((x) => (x > -1 ? x : -1 + (x + 1) * 0.1));
    expectSameAsReference(d, asym());
    expectSameAsReference(d, sym());
  });

  it('matches the plain reference on 10 million values (reference on a few candidates)', () => {
    // The plain loop over all 61 candidates takes tens of seconds here; the
    // reference is run on the chosen candidate, its neighbours and the ends.
    const d = normal(10_000_000, 17, 0.2, 1.5).map((x) => (x > -1 ? x : -1 + (x + 1) * 0.1));
    for (const p of [asym()]) {
      const got = ifmrSearch(d, p);
      const picks = [0, got.bestIndex - 1, got.bestIndex, got.bestIndex + 1, 60].filter((i) => i >= 0 && i <= 60);
      const ref = naiveIfmr(d, p, picks);
      expect(got.maxInit).toBe(ref.maxInit);
      expect(got.minInit).toBe(ref.minInit);
      expect(ref.bestIndex).toBe(got.bestIndex);
      for (const i of picks) expect(Math.abs(got.losses[i] - ref.losses[i])).toBeLessThanOrEqual(1e-9 * ref.losses[i]);
      expect(Math.abs(got.scale - ref.scale)).toBeLessThanOrEqual(1e-6 * ref.scale);
      expect(got.offset).toBe(ref.offset);
    }
  });
});

describe('ifmrSearchHistogram', () => {
  const cases: [string, () => Float32Array][] = [
    ['normal', () => normal(1_000_000, 18)],
    ['relu-like', () => relu(normal(1_000_000, 19, 0.3, 1))],
    ['uniform', () => uniform(500_000, 20, -1, 5)],
    ['laplace-like heavy tail', () => normal(500_000, 21).map((x) => Math.sign(x) * x * x)],
  ];
  for (const [name, make] of cases) {
    for (const asymmetric of [false, true]) {
      it(`stays within 0.5% of the exact scale (${name}, ${asymmetric ? 'asymmetric' : 'symmetric'})`, () => {
        const d = make();
        const p = asymmetric ? asym() : sym();
        const exact = ifmrSearch(d, p);
        const approx = ifmrSearchHistogram(buildIfmrHistogram(d), p);
        expect(approx.approximate).toBe(true);
        expect(approx.count).toBe(d.length);
        expect(Math.abs(approx.scale - exact.scale) / exact.scale).toBeLessThan(0.005);
      });
    }
  }

  it('handles constant data', () => {
    const h = buildIfmrHistogram(new Float32Array(50).fill(3));
    const r = ifmrSearchHistogram(h, sym());
    const e = ifmrSearch(new Float32Array(50).fill(3), sym());
    expect(r.scale).toBeCloseTo(e.scale, 9);
  });
});
