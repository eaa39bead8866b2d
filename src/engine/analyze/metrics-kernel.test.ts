import { describe, expect, it } from 'vitest';
import type { MetricKey, TensorMetrics } from '../../shared/analysis-types';
import { compareFloat32 } from './metrics-kernel';
import { compareTensorsScalar } from './metrics-scalar';
import { KL_FLOOR, klFromSums } from './metrics-sums';
import { compareTensors } from './metrics';

let seed = 11;
const rand = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

/** x = y quantized to `levels` steps over y's range (round to nearest), as an int8 layer would. */
function quantized(y: Float32Array, levels = 255): Float32Array {
  let lo = 0, hi = 0;
  for (const v of y) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const step = (hi - lo) / levels || 1;
  return y.map((v) => Math.round(v / step) * step);
}

function pair(n: number, make: (i: number) => number, quant = (y: Float32Array) => quantized(y)): [Float32Array, Float32Array] {
  const y = Float32Array.from({ length: n }, (_, i) => make(i));
  return [quant(y), y];
}

/** Tensors as the analyzer meets them, at lengths around the kernel's lane (2) and chunk (32768) sizes. */
function cases(): [string, Float32Array, Float32Array][] {
  const out: [string, Float32Array, Float32Array][] = [];
  for (const n of [0, 1, 2, 3, 5, 64, 1001, 32767, 32768, 32769, 65536, 70001]) {
    out.push([`signed ${n}`, ...pair(n, () => gauss())]);
    out.push([`ReLU ${n}`, ...pair(n, () => Math.max(0, gauss()))]);
    // biased activations (mean far from 0, small spread) and all-negative ones
    out.push([`biased ${n}`, ...pair(n, () => 40 + 0.01 * gauss())]);
    out.push([`negative ${n}`, ...pair(n, () => -Math.abs(gauss()) * 1e3)]);
  }
  for (const n of [1, 2, 7, 40000]) {
    out.push([`zeros ${n}`, new Float32Array(n), new Float32Array(n)]);
    out.push([`quantized side zero ${n}`, new Float32Array(n), Float32Array.from({ length: n }, gauss)]);
    out.push([`float side zero ${n}`, Float32Array.from({ length: n }, gauss), new Float32Array(n)]);
    out.push([`constant ${n}`, new Float32Array(n).fill(0.1), new Float32Array(n).fill(0.1)]);
    out.push([`constants apart ${n}`, new Float32Array(n).fill(3), new Float32Array(n).fill(-2.5)]);
    out.push([`one side constant ${n}`, new Float32Array(n).fill(1), Float32Array.from({ length: n }, gauss)]);
    const same = Float32Array.from({ length: n }, gauss);
    out.push([`identical ${n}`, same, same.slice()]);
  }
  // float values at and around EPS = 2.22e-16 (2^-52 > EPS is counted; 2.2e-16 and below are not), tiny and huge ones
  const near = [2 ** -52, -(2 ** -52), 2.2e-16, -2.2e-16, 1e-30, 0, 1e-40, 3e38, -3e38, 1, -1, 7.5];
  out.push(['around EPS', Float32Array.from(near, (v, i) => v * (1 + (i % 3) * 0.01) + (i % 2) * 0.5), Float32Array.from(near)]);
  out.push(['float side tiny', Float32Array.from({ length: 999 }, gauss), Float32Array.from({ length: 999 }, () => 1e-20 * gauss())]);
  // the divergence's far ratios: one side's values spread over many octaves, the other's not
  out.push(['octaves', Float32Array.from({ length: 5001 }, () => 2 ** (-30 * rand())), Float32Array.from({ length: 5001 }, () => rand())]);
  return out;
}

const KEYS = Object.keys(compareTensorsScalar(new Float32Array(1), new Float32Array(1))) as MetricKey[];

/**
 * The kernel's result against the definition's: the maxima exactly, the rest within 1e-12 relative, or
 * within the rounding of sums that cancel to about 0 (a mean or spread of about 0 next to values of size
 * `scale`, a divergence of about 0).
 */
function expectSame(label: string, k: TensorMetrics, r: TensorMetrics, scale: number): void {
  for (const key of KEYS) {
    const a = k[key], b = r[key];
    if (key === 'MaxAbsoluteError' || key === 'MaxRelativeError' || !Number.isFinite(b)) {
      expect(a, `${label}: ${key}`).toBe(b);
      continue;
    }
    const floor = key === 'KullbackLeiblerDivergence' ? 1e-15 : /Mean$|Std$/.test(key) ? 1e-14 * scale : 0;
    expect(Math.abs(a - b), `${label}: ${key} ${a} vs ${b}`).toBeLessThanOrEqual(1e-12 * Math.abs(b) + floor);
  }
}

describe('the float32 kernel against the element-by-element definition', () => {
  it('gives the same metrics on real-looking tensors of every length around its lane and chunk sizes', () => {
    for (const [label, x, y] of cases()) {
      let scale = 0;
      for (let i = 0; i < x.length; i++) scale = Math.max(scale, Math.abs(x[i]), Math.abs(y[i]));
      expectSame(label, compareFloat32(x, y), compareTensorsScalar(x, y), scale);
    }
  });

  it('is what compareTensors uses for float32 data; other data takes the definition', () => {
    const y = Float32Array.from({ length: 3001 }, gauss), x = quantized(y);
    expect(compareTensors(x, y)).toEqual(compareFloat32(x, y));
    const y64 = Float64Array.from(y), x64 = Float64Array.from(x);
    expect(compareTensors(x64, y64)).toEqual(compareTensorsScalar(x64, y64));
    expect(compareTensors(Int32Array.from([1, 2, 3]), Int32Array.from([1, 2, 4]))).toEqual(compareTensorsScalar([1, 2, 3], [1, 2, 4]));
  });

  it('compares a side through a Relu as it would compare the Relu\'s output, on every path (chunks, odd lengths, NaN)', () => {
    const relu = (a: Float32Array) => a.map((v) => (v < 0 ? 0 : v));
    for (const [label, x, y] of cases()) {
      for (const sides of [{ x: true, y: true }, { x: true }, { y: true }]) {
        const rx = sides.x ? relu(x) : x, ry = sides.y ? relu(y) : y;
        expect(compareFloat32(x, y, sides), `${label} ${JSON.stringify(sides)}`).toEqual(compareFloat32(rx, ry));
      }
    }
    // the Relu keeps NaN (the definition's path) and −0; other data takes the definition through the same Relu
    const y = Float32Array.from({ length: 5000 }, (_, i) => (i === 7 ? NaN : i === 8 ? -0 : gauss())), x = quantized(y);
    expect(compareFloat32(x, y, { x: true, y: true })).toEqual(compareFloat32(relu(x), relu(y)));
    expect(Number.isNaN(compareFloat32(x, y, { x: true, y: true }).CosineSimilarity)).toBe(true);
    const y64 = Float64Array.from(y.subarray(9)), x64 = Float64Array.from(x.subarray(9));
    expect(compareTensors(x64, y64, { y: true })).toEqual(compareTensorsScalar(x64, Float64Array.from(y64, (v) => (v < 0 ? 0 : v))));
  });

  it('gives the definition\'s results where a side holds Infinity or NaN', () => {
    const base = Float32Array.from({ length: 40001 }, gauss);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, 1, 20000, 40000]) {
        for (const side of ['x', 'y', 'both'] as const) {
          const y = base.slice(), x = quantized(base);
          if (side !== 'y') x[at] = bad;
          if (side !== 'x') y[at] = bad;
          const k = compareFloat32(x, y), r = compareTensorsScalar(x, y);
          for (const key of KEYS) expect(Object.is(k[key], r[key]) || Math.abs(k[key] - r[key]) <= 1e-12 * Math.abs(r[key]), `${bad} at ${at} in ${side}: ${key}`).toBe(true);
        }
      }
    }
    // all of one side NaN: that side has no range, so its normalised values are all the floor (no NaN)
    const nan = new Float32Array(5).fill(NaN), y = Float32Array.from([1, 2, 3, 4, 5]);
    expect(compareFloat32(nan, y).KullbackLeiblerDivergence).toBe(compareTensorsScalar(nan, y).KullbackLeiblerDivergence);
  });

  it('takes ln(p/q) as exactly as Math.log across ratios from 1 ± 1e-7 to 2^±23', () => {
    // x = [0, t, 1], y = [0, u, 1]: p = [floor, t, 1], q = [floor, u, 1]; only t against u adds to E and D
    const ln = (t: number, u: number) => (Math.abs(t / u - 1) < 0.5 ? Math.log1p((t - u) / u) : Math.log(t / u));
    let worst = 0;
    for (let i = 0; i < 20000; i++) {
      const u = Math.fround(2 ** (-22 * rand()));
      const r = i % 2 ? 1 + (rand() - 0.5) * 2 ** (-3 - 20 * rand()) : 2 ** ((rand() - 0.5) * 40);
      const t = Math.fround(Math.min(0.999, Math.max(KL_FLOOR * 2, u * r)));
      if (t === u) continue;
      const P = KL_FLOOR + t + 1, D = u - t, term = t * ln(t, u);
      const expected = klFromSums({ P, Q: P + D, D, E: term + D, A: term });
      const kl = compareFloat32(Float32Array.from([0, t, 1]), Float32Array.from([0, u, 1])).KullbackLeiblerDivergence;
      // within a few units in the last place of ln(t/u) as the term enters the divergence, and of the
      // divergence and D/P themselves (klFromSums' own rounding)
      const err = Math.abs(kl - expected) / ((Math.abs(term) / P + Math.abs(expected) + Math.abs(D / P)) * 2 ** -52);
      worst = Math.max(worst, err);
    }
    expect(worst).toBeLessThanOrEqual(4);
  });
});

describe('sums of a million values', () => {
  it('keep 1e-12 in both implementations (a running sum of them would not)', () => {
    // an activation of a million values, nearly all alike (a saturated or biased layer), and its quantized
    // copy: a running sum of equal terms drifts; Σy², Σ(x − y)², Σx·y summed exactly (hi + lo) as the reference
    const n = 1_000_000;
    const y = Float32Array.from({ length: n }, (_, i) => (i % 1000 ? 0.1 : 0.1 + 0.05 * rand())), x = quantized(y);
    const exact = (f: (i: number) => number) => {
      let hi = 0, lo = 0;
      for (let i = 0; i < n; i++) {
        const v = f(i), s = hi + v, b = s - hi;
        lo += (hi - (s - b)) + (v - b);
        hi = s;
      }
      return hi + lo;
    };
    const yy = exact((i) => y[i] * y[i]), dd = exact((i) => (x[i] - y[i]) ** 2), dot = exact((i) => x[i] * y[i]);
    const xx = exact((i) => x[i] * x[i]);
    const red = Math.sqrt(dd / yy), cos = dot / Math.sqrt(xx * yy);
    let running = 0;
    for (let i = 0; i < n; i++) running += y[i] * y[i];
    expect(Math.abs(Math.sqrt(dd / running) - red) / red, 'a running sum').toBeGreaterThan(1e-12);
    for (const m of [compareFloat32(x, y), compareTensorsScalar(x, y)]) {
      expect(Math.abs(m.RelativeEuclideanDistance - red) / red).toBeLessThanOrEqual(1e-12);
      expect(Math.abs(m.CosineSimilarity - cos) / cos).toBeLessThanOrEqual(1e-12);
    }
  });
});
