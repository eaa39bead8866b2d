// The fine histogram the streaming IFMR folds every calibration value into:
// exact per-bin count, Σx and Σx² on a power-of-two grid. A module of its own
// because it is also what the folding threads run (histogram-worker.ts), and
// they should load nothing else.

/** Most bins a histogram keeps (memory per tensor: 3 × 8 bytes × this). */
export const HISTOGRAM_MAX_BINS = 1 << 16;

/**
 * A fine histogram with exact per-bin count, Σx and Σx², on a power-of-two
 * grid: the width is the smallest power of two that spreads the values seen
 * over at most HISTOGRAM_MAX_BINS - 2 bins, and the origin a multiple of it, so
 * when a later batch widens the range the old bins merge 2:1 (or more) into
 * the new grid and the moments stay exact sums.
 */
export class MergedHistogram {
  width = 0;
  origin = 0;
  /**
   * Per bin j: count at 3j, Σx at 3j+1, Σx² at 3j+2. Interleaved because
   * folding a value touches all three: one cache line instead of three.
   */
  moments = new Float64Array(0);
  count = 0;
  /** the least and greatest value folded in */
  lowest = Infinity;
  highest = -Infinity;

  /** The whole state, to send to another thread (`moments` moves with it when its buffer is transferred). */
  state(): HistogramState {
    return { width: this.width, origin: this.origin, count: this.count, lowest: this.lowest, highest: this.highest, moments: this.moments };
  }

  static fromState(s: HistogramState): MergedHistogram {
    return Object.assign(new MergedHistogram(), { width: s.width, origin: s.origin, count: s.count, lowest: s.lowest, highest: s.highest, moments: s.moments });
  }

  /** Number of bins. */
  get bins(): number {
    return this.moments.length / 3;
  }

  countOf(j: number): number {
    return this.moments[3 * j];
  }

  /** Σx over every value folded in (NaN when a NaN was). */
  total(): number {
    let t = 0;
    for (let j = 1; j < this.moments.length; j += 3) t += this.moments[j];
    return t;
  }

  private regrid(width: number, origin: number, bins: number): void {
    const moments = new Float64Array(3 * bins);
    const old = this.moments;
    for (let j = 0; j < old.length / 3; j++) {
      if (old[3 * j] === 0) continue;
      const t = 3 * Math.floor((this.origin + j * this.width - origin) / width);
      moments[t] += old[3 * j];
      moments[t + 1] += old[3 * j + 1];
      moments[t + 2] += old[3 * j + 2];
    }
    Object.assign(this, { width, origin, moments });
  }

  /** Make the grid cover [min, max] (finite) with bins at least `minWidth` wide. */
  private cover(min: number, max: number, minWidth = 0): void {
    // the values held and the new ones (not the grid's capacity, which reaches further)
    const lo = Math.min(min, this.lowest);
    const hi = Math.max(max, this.highest);
    let width = Math.max(this.width, minWidth, 2 ** Math.ceil(Math.log2(Math.max((hi - lo) / (HISTOGRAM_MAX_BINS - 2), 1e-30))));
    for (;;) {
      const origin = Math.floor(lo / width) * width;
      const bins = Math.floor((hi - origin) / width) + 1;
      if (bins <= HISTOGRAM_MAX_BINS) {
        // every bin the width allows from this origin: a later batch a little wider then needs no new grid
        if (width !== this.width || origin !== this.origin || bins > this.bins) this.regrid(width, origin, HISTOGRAM_MAX_BINS);
        return;
      }
      width *= 2;
    }
  }

  private prefix?: { c: Float64Array; s1: Float64Array; s2: Float64Array };

  /** Running sums over bins (index j holds bins 0 … j-1), for O(1) sums over runs of bins. */
  prefixSums(): { c: Float64Array; s1: Float64Array; s2: Float64Array } {
    if (this.prefix) return this.prefix;
    const n = this.bins;
    const m = this.moments;
    const c = new Float64Array(n + 1), s1 = new Float64Array(n + 1), s2 = new Float64Array(n + 1);
    for (let j = 0; j < n; j++) {
      c[j + 1] = c[j] + m[3 * j];
      s1[j + 1] = s1[j] + m[3 * j + 1];
      s2[j + 1] = s2[j] + m[3 * j + 2];
    }
    this.prefix = { c, s1, s2 };
    return this.prefix;
  }

  /** Add one batch of values whose min and max are known. */
  add(values: Float32Array, min: number, max: number): void {
    if (values.length === 0) return;
    this.prefix = undefined;
    this.cover(min, max);
    this.lowest = Math.min(this.lowest, min);
    this.highest = Math.max(this.highest, max);
    const { moments, origin } = this;
    const inv = 1 / this.width;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      const j = 3 * (((v - origin) * inv) | 0);
      moments[j]++;
      moments[j + 1] += v;
      moments[j + 2] += v * v;
    }
    this.count += values.length;
  }
}

/** A histogram's whole state, as it crosses threads (the moments' buffer is transferred). */
export interface HistogramState {
  width: number;
  origin: number;
  count: number;
  lowest: number;
  highest: number;
  moments: Float64Array;
}
