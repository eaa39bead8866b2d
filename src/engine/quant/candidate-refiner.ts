// The second streaming pass of IFMR, in memory that does not grow with the data
// or with the number of open candidates.
//
// After the summary pass a layer's candidates are bracketed (streaming-ifmr.ts):
// a histogram bin that lies inside one quantization level contributes exactly,
// only bins that a level step crosses leave the loss uncertain. So the exact
// loss of an open candidate is its inner bins' exact sum plus the values of the
// crossed bins summed one by one — and a second pass over the data needs to look
// closely only at the values that fall in crossed bins (a few per cent), with
// one bin lookup for every other value. Nothing is held across batches but one
// count per bin and one sum per candidate.
//
// The pass also re-counts the crossed bins: equal counts prove that the second
// pass put every value where the summary pass did. When the counts differ, or
// the sums (with their round-off) cannot part the best candidate from another,
// the caller measures that layer the old way (exact losses inside the graph).
import { binOf, type Quantizer } from './ifmr';
import type { MergedHistogram } from './merged-histogram';
import { HISTOGRAM_SLACK, type IfmrPlan } from './streaming-ifmr';

/** Relative round-off allowed on sums of moments (as lossBounds allows). */
const ROUND_OFF = 1e-12;

export class CandidateRefiner {
  /** for bin j, the open candidates (positions in `quantizers`) whose level steps cross it: at[off[j]] … at[off[j+1] − 1] */
  private readonly off: Uint32Array;
  private readonly at: Uint16Array;
  /** values the second pass found in each crossed bin */
  private readonly seen: Float64Array;
  private readonly quantizers: Quantizer[];
  /** Σ (Q(x) − x)² over the values in the bins each open candidate crosses */
  private readonly sums: Float64Array;
  private outside = false;

  constructor(
    private readonly histogram: MergedHistogram,
    private readonly plan: IfmrPlan,
  ) {
    const h = histogram;
    this.quantizers = plan.undecided.map((i) => plan.quantizers[i]);
    this.seen = new Float64Array(h.bins);
    this.sums = new Float64Array(this.quantizers.length);
    const lists: number[][] = this.quantizers.map((q) => this.crossedBins(q));
    this.off = new Uint32Array(h.bins + 1);
    for (const l of lists) for (const j of l) this.off[j + 1]++;
    for (let j = 0; j < h.bins; j++) this.off[j + 1] += this.off[j];
    this.at = new Uint16Array(this.off[h.bins]);
    const fill = this.off.slice(0, h.bins);
    lists.forEach((l, c) => {
      for (const j of l) this.at[fill[j]++] = c;
    });
  }

  /** Bins (slack-widened, as lossBounds sees them) whose values do not all sit at one level of q. */
  private crossedBins(q: Quantizer): number[] {
    const h = this.histogram;
    const slack = HISTOGRAM_SLACK * h.width;
    const out: number[] = [];
    for (let j = 0; j < h.bins; j++) {
      if (binOf(h.origin + j * h.width - slack, q) !== binOf(h.origin + (j + 1) * h.width + slack, q)) out.push(j);
    }
    return out;
  }

  /** Fold one batch of the layer input's values (the same values, in any batching, as the summary pass saw). */
  add(values: Float32Array): void {
    const { origin, bins } = this.histogram;
    const inv = 1 / this.histogram.width;
    const { off, at, seen, sums, quantizers } = this;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      const t = (v - origin) * inv;
      // the summary pass binned with the same expression (the width is a power of two, so it is exact)
      if (!(t >= 0 && t < bins)) {
        this.outside = true;
        continue;
      }
      const j = t | 0;
      const end = off[j + 1];
      let p = off[j];
      if (p === end) continue;
      seen[j]++;
      for (; p < end; p++) {
        const q = quantizers[at[p]];
        const d = binOf(v, q) * q.s - v;
        sums[at[p]] += d * d;
      }
    }
  }

  /**
   * Exact Σ (Q(x) − x)² of every open candidate, keyed by candidate index, when
   * they prove the sort-based search's choice (the first least loss); undefined
   * when the caller must measure this layer another way.
   */
  /** Whether the pass put every value where the summary pass did (the crossed bins' counts agree). */
  consistent(): boolean {
    const h = this.histogram;
    if (this.outside) return false;
    for (let j = 0; j < h.bins; j++) if (this.off[j + 1] > this.off[j] && this.seen[j] !== h.countOf(j)) return false;
    return true;
  }

  result(): Map<number, number> | undefined {
    const h = this.histogram;
    if (!this.consistent()) return undefined;
    const slack = HISTOGRAM_SLACK * h.width;
    const m = h.moments;
    const totals = this.quantizers.map((q, c) => {
      let inner = 0;
      let scale = 0;
      for (let j = 0; j < h.bins; j++) {
        const n = m[3 * j];
        if (n === 0) continue;
        const ka = binOf(h.origin + j * h.width - slack, q);
        if (ka !== binOf(h.origin + (j + 1) * h.width + slack, q)) continue; // crossed: summed value by value
        // every value of the bin is at level ka: its sum from the bin's moments
        const qv = ka * q.s;
        const s1 = m[3 * j + 1], s2 = m[3 * j + 2];
        inner += Math.max(0, s2 - 2 * qv * s1 + n * qv * qv);
        scale += s2 + 2 * Math.abs(qv * s1) + n * qv * qv;
      }
      const value = inner + this.sums[c];
      return { value, err: ROUND_OFF * (scale + this.sums[c]) };
    });
    let best = 0;
    for (let c = 1; c < totals.length; c++) if (totals[c].value < totals[best].value) best = c;
    const b = totals[best];
    // proven only when every other open candidate is surely worse, whatever the round-off
    for (let c = 0; c < totals.length; c++) {
      if (c !== best && totals[c].value - totals[c].err <= b.value + b.err) return undefined;
    }
    return new Map(this.plan.undecided.map((i, c) => [i, totals[c].value]));
  }
}
