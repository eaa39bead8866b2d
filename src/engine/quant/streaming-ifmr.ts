// Exact IFMR from batch summaries, in memory that does not grow with the data.
//
// Each batch gives, per tensor: min, max and the rows that hold the k
// largest/smallest values (reduced inside ONNX Runtime, see
// engine/onnx/reductions.ts), and its values, which are folded into a fine
// histogram with exact per-bin count, Σx and Σx² and then dropped. From these:
// - the percentile inits are exact order statistics (ExtremeKeeper);
// - each candidate's loss is bracketed: bins that lie wholly inside one
//   quantization level contribute exactly (from their moments), bins that a
//   level step crosses contribute within a proven interval;
// - the candidate IFMR picks is proven when its upper bound is below every
//   other candidate's lower bound; otherwise the candidates that could still
//   be the minimum are measured exactly in one more pass over the data, and the
//   first of the least exact losses wins — the same choice as the sort-based
//   search (ifmr.ts) on the same values.
import { QtuneError } from '../../shared/errors';
import type { IfmrParams } from '../../shared/config-types';
import { binOf, candidateRatios, finish, percentileRank, quantizerFor, type IfmrResult, type Quantizer } from './ifmr';
import type { MergedHistogram } from './merged-histogram';

/** Keeps the k largest (or smallest) values seen across batches. */
export class ExtremeKeeper {
  private kept = new Float64Array(0);

  constructor(
    readonly k: number,
    private readonly largest: boolean,
  ) {}

  /**
   * One batch: `survivors` are every value beyond `tau` (strictly); the batch
   * has at least k values at or beyond a finite `tau`, so the rest of its k
   * most extreme values equal tau. A tau of ±inf means every value came.
   */
  add(survivors: ArrayLike<number>, tau: number): void {
    const pad = Number.isFinite(tau) ? Math.max(0, this.k - survivors.length) : 0;
    const all = new Float64Array(this.kept.length + survivors.length + pad);
    all.set(this.kept);
    for (let i = 0; i < survivors.length; i++) all[this.kept.length + i] = survivors[i];
    all.fill(tau, this.kept.length + survivors.length);
    all.sort();
    this.kept = this.largest ? all.slice(Math.max(0, all.length - this.k)) : all.slice(0, this.k);
  }

  /** The r-th largest (or smallest) value, 1-based; r ≤ k. */
  rank(r: number): number {
    if (r > this.k || r > this.kept.length) throw new QtuneError('internal', `rank ${r} was not kept (k = ${this.k}, held ${this.kept.length})`);
    return this.largest ? this.kept[this.kept.length - r] : this.kept[r - 1];
  }
}

/**
 * How far (in bins) a bin's edges are widened when deciding which level its
 * values sit at: covers values whose float bin index is one bin off.
 */
export const HISTOGRAM_SLACK = 0.02;

/** Everything known about one tensor after the summary pass. */
export interface TensorSummary {
  count: number;
  min: number;
  max: number;
  top: ExtremeKeeper;
  bottom: ExtremeKeeper;
  histogram: MergedHistogram;
}

export interface LossBounds {
  lower: number;
  upper: number;
}

/**
 * Σ (Q(x) − x)² over the histogram, bracketed. Bins inside one level are
 * exact; a bin that a step crosses is bounded by the two neighbouring levels'
 * sums (each value goes to the nearer one). Bin edges are widened by a small
 * fraction of a bin, covering values the float32 bin index put one bin off.
 */
export function lossBounds(h: MergedHistogram, q: Quantizer): LossBounds {
  const n = h.bins;
  const W = h.width;
  const slack = HISTOGRAM_SLACK * W;
  const edgeLo = (j: number) => h.origin + j * W - slack;
  const edgeHi = (j: number) => h.origin + (j + 1) * W + slack;
  const level = (x: number) => binOf(x, q);
  const p = h.prefixSums();
  let lower = 0;
  let upper = 0;
  // round-off of the moment sums: relative 1e-12 of the terms involved, plus what differencing running sums
  // can lose (relative 1e-13 of the totals)
  const qMax = Math.max(Math.abs(q.lo), Math.abs(q.hi));
  let scale = 1e-1 * (p.s2[n] + 2 * qMax * Math.abs(p.s1[n]) + p.c[n] * qMax * qMax);
  const exact = (c: number, s1: number, s2: number, qv: number) => {
    const t = s2 - 2 * qv * s1 + c * qv * qv;
    scale += s2 + 2 * Math.abs(qv * s1) + c * qv * qv;
    return Math.max(0, t);
  };
  let j = 0;
  while (j < n) {
    const ka = level(edgeLo(j));
    const kb = level(edgeHi(j));
    if (ka !== kb) {
      if (h.countOf(j) === 0) {
        j++;
        continue;
      }
      const c = h.moments[3 * j], s1 = h.moments[3 * j + 1], s2 = h.moments[3 * j + 2];
      const a = exact(c, s1, s2, ka * q.s);
      const b = exact(c, s1, s2, kb * q.s);
      if (kb === ka + 1) {
        const step = (ka + 0.5) * q.s;
        const lo = Math.max(a - 2 * q.s * Math.max(0, edgeHi(j) - step) * c, b - 2 * q.s * Math.max(0, step - edgeLo(j)) * c, 0);
        lower += lo;
        upper += Math.min(a, b);
      } else {
        upper += a + b;
      }
      j++;
      continue;
    }
    // bins j … end all sit at level ka: find the last one (monotone levels)
    let end = j;
    if (level(edgeHi(n - 1)) === ka) end = n - 1;
    else {
      const step = (ka + 0.5) * q.s;
      end = Math.min(n - 1, Math.max(j, Math.floor((step - slack - h.origin) / W) - 1));
      while (end > j && level(edgeHi(end)) !== ka) end--;
      while (end + 1 < n && level(edgeHi(end + 1)) === ka) end++;
    }
    const t = exact(p.c[end + 1] - p.c[j], p.s1[end + 1] - p.s1[j], p.s2[end + 1] - p.s2[j], ka * q.s);
    lower += t;
    upper += t;
    j = end + 1;
  }
  const err = 1e-12 * scale;
  return { lower: Math.max(0, lower - err), upper: upper + err };
}

/** What the summary pass decided for one layer, and what (if anything) it still needs measured exactly. */
export interface IfmrPlan {
  params: IfmrParams;
  maxInit: number;
  minInit: number;
  ratios: number[];
  quantizers: Quantizer[];
  bounds: LossBounds[];
  /** candidate indices whose exact loss is needed (empty when the choice is proven) */
  undecided: number[];
}

export function planIfmr(t: TensorSummary, params: IfmrParams): IfmrPlan {
  const n = t.count;
  if (n === 0) throw new QtuneError('empty_activation', 'The activation received no calibration values.');
  const maxInit = Math.max(t.top.rank(percentileRank(params.maxPercentile, n)), 0);
  const minInit = Math.min(t.bottom.rank(percentileRank(params.minPercentile, n)), 0);
  const ratios = candidateRatios(params);
  const quantizers = ratios.map((r) => quantizerFor(r, maxInit, minInit, params));
  const bounds = quantizers.map((q) => lossBounds(t.histogram, q));
  const bestUpper = Math.min(...bounds.map((b) => b.upper));
  const open = bounds.flatMap((b, i) => (b.lower <= bestUpper ? [i] : []));
  return { params, maxInit, minInit, ratios, quantizers, bounds, undecided: open.length > 1 ? open : [] };
}

/** The IFMR result, given exact sums Σ(Q(x) − x)² for the plan's undecided candidates. */
export function finishIfmr(plan: IfmrPlan, count: number, exactSums: Map<number, number> = new Map()): IfmrResult {
  const losses = plan.bounds.map((b, i) => (exactSums.get(i) ?? (b.lower + b.upper) / 2) / count);
  let best: number;
  if (plan.undecided.length === 0) {
    best = plan.bounds.findIndex((b) => b.lower <= Math.min(...plan.bounds.map((x) => x.upper)));
  } else {
    best = plan.undecided[0];
    for (const i of plan.undecided) {
      const v = exactSums.get(i);
      if (v === undefined) throw new QtuneError('internal', `candidate ${i} was not measured`);
      if (v < exactSums.get(best)!) best = i;
    }
  }
  return finish(plan.params, plan.maxInit, plan.minInit, plan.ratios, losses, best, count, false);
}
