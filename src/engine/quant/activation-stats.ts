// Statistics of a layer's float input activation for the stats file and the
// UI (min/max and a 256-bin histogram), and the streaming fine histogram that
// IFMR's approximate mode uses when a layer's data is too large to hold.
import { QtuneError } from '../../shared/errors';
import type { ActivationHistogram } from '../../shared/quant-types';
import { DEFAULT_HISTOGRAM_BINS, type IfmrHistogram } from './ifmr';
import type { MergedHistogram } from './merged-histogram';

export const STATS_HISTOGRAM_BINS = 256;

export interface ActivationSummary {
  count: number;
  min: number;
  max: number;
  histogram: ActivationHistogram;
}

function binIndex(x: number, min: number, width: number, bins: number): number {
  if (!(width > 0)) return 0;
  const j = Math.floor((x - min) / width);
  return j >= bins ? bins - 1 : j < 0 ? 0 : j;
}

/** Min, max and an equal-width histogram over [min, max] of values held in chunks. */
export function summarizeActivation(chunks: readonly Float32Array[], bins = STATS_HISTOGRAM_BINS): ActivationSummary {
  let min = Infinity;
  let max = -Infinity;
  let count = 0;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++) {
      const v = c[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    count += c.length;
  }
  if (count === 0) return { count, min: 0, max: 0, histogram: { min: 0, max: 0, counts: new Array(bins).fill(0) } };
  const counts = new Array<number>(bins).fill(0);
  const width = (max - min) / bins;
  for (const c of chunks) for (let i = 0; i < c.length; i++) counts[binIndex(c[i], min, width, bins)]++;
  return { count, min, max, histogram: { min, max, counts } };
}

/** The coarse stats histogram from IFMR's fine one (same range; fine bins summed in groups). */
export function summarizeFromIfmrHistogram(h: IfmrHistogram, bins = STATS_HISTOGRAM_BINS): ActivationSummary {
  const fine = h.counts.length;
  const counts = new Array<number>(bins).fill(0);
  for (let j = 0; j < fine; j++) counts[Math.min(bins - 1, Math.floor((j * bins) / fine))] += h.counts[j];
  return { count: h.count, min: h.min, max: h.max, histogram: { min: h.min, max: h.max, counts } };
}

/** The stats file's coarse histogram over [min, max] from the streaming calibration's fine one (each fine bin counted at its centre). */
export function summarizeFromMergedHistogram(h: MergedHistogram, min: number, max: number, bins = STATS_HISTOGRAM_BINS): ActivationSummary {
  const counts = new Array<number>(bins).fill(0);
  const w = (max - min) / bins;
  for (let j = 0; j < h.bins; j++) {
    const c = h.countOf(j);
    if (c === 0) continue;
    const centre = h.origin + (j + 0.5) * h.width;
    const k = w > 0 ? Math.min(bins - 1, Math.max(0, Math.floor((centre - min) / w))) : 0;
    counts[k] += c;
  }
  return { count: h.count, min, max, histogram: { min, max, counts } };
}

/**
 * Builds an IfmrHistogram over data that arrives in batches and is never held
 * whole: the range is learned in one pass over the data (`observeRange`), the
 * bins are filled in a second (`accumulate`).
 */
export class StreamingIfmrHistogram {
  private min = Infinity;
  private max = -Infinity;
  private hist?: IfmrHistogram;

  constructor(
    private readonly layer: string,
    private readonly bins = DEFAULT_HISTOGRAM_BINS,
  ) {}

  private checkFinite(v: number): void {
    if (v - v !== 0) {
      throw new QtuneError('nonfinite_activation', `Layer "${this.layer}" has ${Number.isNaN(v) ? 'NaN' : 'an infinite value'} in its calibration data; IFMR needs finite values.`, {
        layer: this.layer,
        hint: 'Check the calibration data and the preprocessing; a float overflow upstream also shows up here.',
      });
    }
  }

  observeRange(data: Float32Array): void {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      this.checkFinite(v);
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
    }
  }

  accumulate(data: Float32Array): void {
    if (!this.hist) {
      if (!(this.min <= this.max)) throw new QtuneError('empty_activation', `Layer "${this.layer}" received no calibration values.`, { layer: this.layer });
      this.hist = { min: this.min, max: this.max, count: 0, counts: new Float64Array(this.bins), m1: new Float64Array(this.bins), m2: new Float64Array(this.bins) };
    }
    const h = this.hist;
    const w = (h.max - h.min) / this.bins;
    for (let i = 0; i < data.length; i++) {
      const x = data[i];
      const j = binIndex(x, h.min, w, this.bins);
      const d = x - (h.min + (j + 0.5) * w);
      h.counts[j] += 1;
      h.m1[j] += d;
      h.m2[j] += d * d;
    }
    h.count += data.length;
  }

  result(): IfmrHistogram {
    if (!this.hist) throw new QtuneError('empty_activation', `Layer "${this.layer}" received no calibration values.`, { layer: this.layer });
    return this.hist;
  }
}
