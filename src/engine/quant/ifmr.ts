// IFMR: the activation quantization search (spec §1). Picks the clip range
// of a layer's input from two percentile values, then tries a grid of upper
// clip values and keeps the one with the least quantization error.
//
// The straightforward method costs candidates × N; here the values are sorted
// once and each candidate's loss is summed over its quantization bins. Bin
// edges are found by binary search with the very expression the plain method
// evaluates per value (so ties at x/s = k + 0.5 land in the same bin), and the
// sum inside a bin comes from small per-block moments taken about the block's
// own centre, which keeps the sum free of the cancellation that plain prefix
// sums of x and x² would suffer.

import { QtuneError } from '../../shared/errors';
import { DEFAULT_ACTIVATION_PARAMS, type IfmrParams } from '../../shared/config-types';
import { roundHalfEven } from './fake-quant';

export type { IfmrParams } from '../../shared/config-types';

/** The config defaults (src/shared, one definition) in the search's own terms; symmetric unless asked. */
export const DEFAULT_IFMR_PARAMS: IfmrParams = {
  maxPercentile: DEFAULT_ACTIVATION_PARAMS.max_percentile,
  minPercentile: DEFAULT_ACTIVATION_PARAMS.min_percentile,
  searchRange: [...DEFAULT_ACTIVATION_PARAMS.search_range],
  searchStep: DEFAULT_ACTIVATION_PARAMS.search_step,
  asymmetric: false,
};

/** float32 epsilon: a scale below it is replaced by 1 (spec §1 step 5). */
export const MIN_SCALE = 1.1920929e-7;

export interface IfmrResult {
  scale: number;
  offset: number;
  /** chosen clip range: [minInit, cand] asymmetric, [-cand, cand] symmetric */
  clipMin: number;
  clipMax: number;
  maxInit: number;
  minInit: number;
  /** the search ratios, start + i * step */
  candidates: number[];
  /** mean squared quantization error per candidate */
  losses: number[];
  bestIndex: number;
  /** number of values searched over */
  count: number;
  /** true when computed from a histogram rather than the values themselves */
  approximate: boolean;
}

/** Values per block of the sorted data whose moments are kept. */
const BLOCK = 64;

/** Number of candidates: floor((end - start) / step + 1e-6) + 1 (61 for the defaults). */
export function candidateCount(params: IfmrParams): number {
  const [start, end] = params.searchRange;
  return Math.floor((end - start) / params.searchStep + 1e-6) + 1;
}

export function candidateRatios(params: IfmrParams): number[] {
  const m = candidateCount(params);
  const out: number[] = [];
  for (let i = 0; i < m; i++) out.push(params.searchRange[0] + i * params.searchStep);
  return out;
}

/** k of "the k-th largest/smallest value" for a percentile p over n values. */
export function percentileRank(p: number, n: number): number {
  if (Math.abs(p - 1) < 1e-12) return 1;
  const k = n - Math.floor(p * n);
  return Math.min(Math.max(k, 1), n);
}

/** Per-candidate quantizer: clip range and step, and the first/best pick rule shared by both modes. */
export interface Quantizer {
  lo: number;
  hi: number;
  s: number;
}

export function quantizerFor(ratio: number, maxInit: number, minInit: number, p: IfmrParams): Quantizer {
  if (p.asymmetric) {
    const cand = ratio * maxInit;
    return { lo: minInit, hi: cand, s: (cand - minInit) / 255 };
  }
  const a = Math.abs(maxInit) > Math.abs(minInit) ? maxInit : minInit;
  const levels = a > 0 ? 127 : 128;
  const cand = ratio * Math.abs(a);
  return { lo: -cand, hi: cand, s: cand / levels };
}

/** Bin index of x: round(clamp(x, lo, hi) / s). A zero step maps everything to 0. */
export function binOf(x: number, q: Quantizer): number {
  if (q.s === 0) return 0;
  const c = x < q.lo ? q.lo : x > q.hi ? q.hi : x;
  return roundHalfEven(c / q.s);
}

function checkFinite(data: Float32Array, layer: string | undefined): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) {
      const what = Number.isNaN(v) ? 'NaN' : 'an infinite value';
      throw new QtuneError(
        'nonfinite_activation',
        `${layer ? `Layer "${layer}"` : 'The activation'} has ${what} in its calibration data; IFMR needs finite values.`,
        { layer, hint: 'Check the calibration data and the preprocessing; a float overflow upstream also shows up here.' },
      );
    }
  }
}

function concatChunks(data: Float32Array | Float32Array[], layer: string | undefined): Float32Array {
  const chunks = Array.isArray(data) ? data : [data];
  let n = 0;
  for (const c of chunks) {
    checkFinite(c, layer);
    n += c.length;
  }
  const out = new Float32Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * First index of the least loss, strictly, as a plain loop picks it. (A
 * tolerance would look kinder to float noise, but on small inputs this search
 * sums the very same terms as a plain loop, and only a strict pick agrees there.)
 */
export function firstMinimum(losses: number[]): number {
  let best = 0;
  for (let i = 1; i < losses.length; i++) if (losses[i] < losses[best]) best = i;
  return best;
}

export function finish(
  p: IfmrParams,
  maxInit: number,
  minInit: number,
  ratios: number[],
  losses: number[],
  bestIndex: number,
  count: number,
  approximate: boolean,
): IfmrResult {
  const q = quantizerFor(ratios[bestIndex], maxInit, minInit, p);
  let scale = q.s;
  let offset = p.asymmetric ? -roundHalfEven(minInit / scale) - 128 : 0;
  if (!(scale >= MIN_SCALE)) {
    scale = 1;
    offset = p.asymmetric ? -128 : 0;
  }
  return {
    scale,
    offset: offset === 0 ? 0 : offset, // no -0 in results
    clipMin: q.lo,
    clipMax: q.hi,
    maxInit,
    minInit,
    candidates: ratios,
    losses,
    bestIndex,
    count,
    approximate,
  };
}

/** Sorted values with per-block moments about each block's centre. */
interface SortedStats {
  v: Float32Array;
  centre: Float64Array;
  m1: Float64Array;
  m2: Float64Array;
}

function blockStats(v: Float32Array): SortedStats {
  const nb = Math.ceil(v.length / BLOCK);
  const centre = new Float64Array(nb);
  const m1 = new Float64Array(nb);
  const m2 = new Float64Array(nb);
  for (let b = 0; b < nb; b++) {
    const from = b * BLOCK;
    const to = Math.min(from + BLOCK, v.length);
    const c = (v[from] + v[to - 1]) / 2;
    let s1 = 0;
    let s2 = 0;
    for (let i = from; i < to; i++) {
      const d = v[i] - c;
      s1 += d;
      s2 += d * d;
    }
    centre[b] = c;
    m1[b] = s1;
    m2[b] = s2;
  }
  return { v, centre, m1, m2 };
}

/** Σ (x - qv)² over sorted positions [a, b). */
function rangeError(st: SortedStats, a: number, b: number, qv: number): number {
  const v = st.v;
  let sum = 0;
  let i = a;
  const headEnd = Math.min(b, Math.ceil(a / BLOCK) * BLOCK);
  for (; i < headEnd; i++) {
    const d = qv - v[i];
    sum += d * d;
  }
  for (; i + BLOCK <= b; i += BLOCK) {
    const blk = i / BLOCK;
    const d = st.centre[blk] - qv;
    sum += st.m2[blk] + 2 * d * st.m1[blk] + BLOCK * d * d;
  }
  for (; i < b; i++) {
    const d = qv - v[i];
    sum += d * d;
  }
  return sum;
}

/** First position in [from, n) whose bin exceeds k (sorted data, so bins never decrease). */
function binEnd(v: Float32Array, from: number, k: number, q: Quantizer): number {
  let lo = from;
  let hi = v.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (binOf(v[mid], q) > k) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function candidateLoss(st: SortedStats, q: Quantizer): number {
  const v = st.v;
  const n = v.length;
  if (q.s === 0) return rangeError(st, 0, n, 0) / n;
  const kLast = binOf(v[n - 1], q);
  let pos = 0;
  let sum = 0;
  for (let k = binOf(v[0], q); pos < n; k++) {
    const end = k >= kLast ? n : binEnd(v, pos, k, q);
    if (end > pos) sum += rangeError(st, pos, end, k * q.s);
    pos = end;
  }
  return sum / n;
}

/**
 * Exact IFMR search over all values (one chunk or several calibration batches).
 * The input arrays are not modified.
 */
export function ifmrSearch(
  data: Float32Array | Float32Array[],
  params: IfmrParams,
  opts: { layer?: string } = {},
): IfmrResult {
  const v = concatChunks(data, opts.layer);
  const n = v.length;
  if (n === 0) {
    throw new QtuneError('empty_activation', `${opts.layer ? `Layer "${opts.layer}"` : 'The activation'} received no calibration values.`, {
      layer: opts.layer,
    });
  }
  v.sort();
  const maxInit = Math.max(v[n - percentileRank(params.maxPercentile, n)], 0);
  const minInit = Math.min(v[percentileRank(params.minPercentile, n) - 1], 0);
  const st = blockStats(v);
  const ratios = candidateRatios(params);
  const losses = ratios.map((r) => candidateLoss(st, quantizerFor(r, maxInit, minInit, params)));
  return finish(params, maxInit, minInit, ratios, losses, firstMinimum(losses), n, false);
}

/**
 * A fine histogram of activation values with exact per-bin moments, for data
 * too large to keep: memory is fixed by the bin count, not by the data.
 */
export interface IfmrHistogram {
  min: number;
  max: number;
  count: number;
  /** per-bin value count, sum of (x - centre) and sum of (x - centre)² */
  counts: Float64Array;
  m1: Float64Array;
  m2: Float64Array;
}

export const DEFAULT_HISTOGRAM_BINS = 1 << 16;

export function histogramCentre(h: IfmrHistogram, j: number): number {
  const w = (h.max - h.min) / h.counts.length;
  return h.min + (j + 0.5) * w;
}

/** Build the histogram in two passes (range, then bins) over one or more chunks. */
export function buildIfmrHistogram(
  data: Float32Array | Float32Array[],
  opts: { bins?: number; layer?: string } = {},
): IfmrHistogram {
  const chunks = Array.isArray(data) ? data : [data];
  const bins = opts.bins ?? DEFAULT_HISTOGRAM_BINS;
  let min = Infinity;
  let max = -Infinity;
  let count = 0;
  for (const c of chunks) {
    checkFinite(c, opts.layer);
    for (let i = 0; i < c.length; i++) {
      if (c[i] < min) min = c[i];
      if (c[i] > max) max = c[i];
    }
    count += c.length;
  }
  if (count === 0) {
    throw new QtuneError('empty_activation', `${opts.layer ? `Layer "${opts.layer}"` : 'The activation'} received no calibration values.`, {
      layer: opts.layer,
    });
  }
  const h: IfmrHistogram = {
    min,
    max,
    count,
    counts: new Float64Array(bins),
    m1: new Float64Array(bins),
    m2: new Float64Array(bins),
  };
  const w = (max - min) / bins;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++) {
      const x = c[i];
      let j = w > 0 ? Math.floor((x - min) / w) : 0;
      if (j >= bins) j = bins - 1;
      const d = x - (min + (j + 0.5) * w);
      h.counts[j] += 1;
      h.m1[j] += d;
      h.m2[j] += d * d;
    }
  }
  return h;
}

/** Value of the k-th smallest element, interpolated inside its bin. */
function histogramRankValue(h: IfmrHistogram, k: number): number {
  const w = (h.max - h.min) / h.counts.length;
  let seen = 0;
  for (let j = 0; j < h.counts.length; j++) {
    const c = h.counts[j];
    if (c > 0 && seen + c >= k) {
      const frac = (k - seen - 0.5) / c;
      const x = h.min + (j + frac) * w;
      return Math.min(Math.max(x, h.min), h.max);
    }
    seen += c;
  }
  return h.max;
}

/**
 * Approximate IFMR from a histogram: percentiles interpolated inside a bin,
 * every value of a bin assigned to the quantization bin of the bin's centre.
 * The result carries `approximate: true`.
 */
export function ifmrSearchHistogram(h: IfmrHistogram, params: IfmrParams): IfmrResult {
  const n = h.count;
  const maxInit = Math.max(histogramRankValue(h, n - percentileRank(params.maxPercentile, n) + 1), 0);
  const minInit = Math.min(histogramRankValue(h, percentileRank(params.minPercentile, n)), 0);
  const ratios = candidateRatios(params);
  const bins = h.counts.length;
  const losses = ratios.map((r) => {
    const q = quantizerFor(r, maxInit, minInit, params);
    let sum = 0;
    for (let j = 0; j < bins; j++) {
      const c = h.counts[j];
      if (c === 0) continue;
      const centre = histogramCentre(h, j);
      const qv = binOf(centre, q) * q.s;
      const d = centre - qv;
      sum += h.m2[j] + 2 * d * h.m1[j] + c * d * d;
    }
    return sum / n;
  });
  return finish(params, maxInit, minInit, ratios, losses, firstMinimum(losses), n, true);
}
