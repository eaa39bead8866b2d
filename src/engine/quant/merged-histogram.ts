// The fine histogram the streaming IFMR folds every calibration value into:
// exact per-bin count, Σx and Σx² on a power-of-two grid. A module of its own
// because it is also what the folding threads run (histogram-worker.ts), and
// they should load nothing else but the compiled fold (histogram-kernel.ts).
import type { FoldArena } from './histogram-kernel';

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
  count = 0;
  /** the least and greatest value folded in */
  lowest = Infinity;
  highest = -Infinity;
  private stored: Float64Array = new Float64Array(0);
  /** length of the moments (3 × bins) */
  private size = 0;
  /** byte offset of the moments in the arena; -1 when they are a plain array */
  private at = -1;

  /**
   * @param arena where to keep the moments and fold into them with the compiled loop (the folders give one);
   * without it (or when it is full) the moments are a plain array and the TypeScript loop folds, to the same bits
   */
  constructor(private readonly arena?: FoldArena) {}

  /**
   * Per bin j: count at 3j, Σx at 3j+1, Σx² at 3j+2. Interleaved because
   * folding a value touches all three: one cache line instead of three.
   * (A view into the arena is made again when the arena's memory has grown.)
   */
  get moments(): Float64Array {
    if (this.at >= 0 && this.stored.buffer !== this.arena!.buffer) this.stored = this.arena!.view(this.at, this.size);
    return this.stored;
  }

  /** The whole state, to send to another thread (`moments` moves with it when its buffer is transferred). */
  state(): HistogramState {
    return { width: this.width, origin: this.origin, count: this.count, lowest: this.lowest, highest: this.highest, moments: this.at >= 0 ? this.moments.slice() : this.stored };
  }

  static fromState(s: HistogramState): MergedHistogram {
    const h = Object.assign(new MergedHistogram(), { width: s.width, origin: s.origin, count: s.count, lowest: s.lowest, highest: s.highest });
    h.stored = s.moments;
    h.size = s.moments.length;
    return h;
  }

  /** Number of bins. */
  get bins(): number {
    return this.size / 3;
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
    const size = 3 * bins;
    // allocated before the old moments are looked at: growing the arena's memory moves them
    const at = this.arena?.allocate(size);
    const moments = at !== undefined ? this.arena!.view(at, size) : new Float64Array(size);
    const old = this.moments;
    for (let j = 0; j < old.length / 3; j++) {
      if (old[3 * j] === 0) continue;
      const t = 3 * Math.floor((this.origin + j * this.width - origin) / width);
      moments[t] += old[3 * j];
      moments[t + 1] += old[3 * j + 1];
      moments[t + 2] += old[3 * j + 2];
    }
    if (this.at >= 0) this.arena!.release(this.at, this.size);
    Object.assign(this, { width, origin, stored: moments, size, at: at ?? -1 });
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
    const { origin } = this;
    const inv = 1 / this.width;
    if (this.at >= 0) {
      this.arena!.fold(values, this.at, this.bins, origin, inv);
    } else {
      const moments = this.moments;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        const j = 3 * (((v - origin) * inv) | 0);
        moments[j]++;
        moments[j + 1] += v;
        moments[j + 2] += v * v;
      }
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
