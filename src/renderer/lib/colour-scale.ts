// Colour scales for per-layer metrics, shared by the graph view and the
// heatmaps. Whatever the metric's direction, the worst value is drawn dark red
// and the best pale yellow, so "red means look here" holds everywhere.
import { extent, interpolateYlOrRd, scaleLinear, rgb } from 'd3';
import { QtuneError } from '../../shared/errors';

/** Colour of a missing / undefined value (NaN): a neutral grey that the YlOrRd ramp never produces. */
export const NAN_COLOUR = '#9e9e9e';

// Metric names as the analyzer reports them (spec "Analyzer"), matched after
// lower-casing and dropping anything that is not a letter or digit, so
// "Cosine similarity", "cosine_similarity" and "CosineSimilarity" agree.
const HIGHER_IS_BETTER = new Set([
  'cosinesimilarity',
  'cosine',
  'cos',
  'accumulatedcosine',
  'isolatedcosine',
  'weightcosine',
  'sqnr',
  'sqnrdb',
  'weightsqnr',
  'isolatedsensitivity',
  'sensitivity',
  'accuracy',
  'top1',
  'top5',
]);
const LOWER_IS_BETTER = new Set([
  'maxabsoluteerror',
  'meanabsoluteerror',
  'accumulatedrelativeerror',
  'relativeeuclideandistance',
  'kullbackleiblerdivergence',
  'kl',
  'kldivergence',
  'rootmeansquareerror',
  'maxrelativeerror',
  'meanrelativeerror',
  'mse',
  'mae',
  'rmse',
  'loss',
  'timems',
]);

function normaliseMetricName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * Whether a larger value of this metric means a better (closer to float) layer.
 * Known names come from the table above; otherwise the words in the name decide
 * (…cosine…, …sqnr…, …sensitivity… are higher-is-better; …error…, …distance…,
 * …divergence… lower-is-better). A name that says neither is an error, because
 * guessing would paint good layers red.
 */
export function metricHigherIsBetter(metricName: string): boolean {
  const key = normaliseMetricName(metricName);
  if (HIGHER_IS_BETTER.has(key)) return true;
  if (LOWER_IS_BETTER.has(key)) return false;
  if (/cosine|sqnr|sensitivity|accuracy/.test(key)) return true;
  if (/error|distance|divergence|loss/.test(key)) return false;
  throw new QtuneError('unknown_metric', `Unknown metric "${metricName}": cannot tell whether higher or lower is better.`, {
    hint: 'Pass { higherIsBetter } to makeMetricScale for metrics outside the analyzer table.',
  });
}

export interface LegendStop {
  /** 0 at the legend's left (the domain minimum), 1 at its right (the maximum) */
  offset: number;
  value: number;
  colour: string;
}

export interface MetricScale {
  metric: string;
  higherIsBetter: boolean;
  /** [min, max] of the finite values (widened when they are all equal) */
  domain: [number, number];
  /** true when every finite value was the same */
  constant: boolean;
  threshold?: number;
  /** where the threshold sits on the legend (0..1, clamped), when there is one */
  thresholdOffset?: number;
  /** CSS colour for a value; NaN (and values with no data) get NAN_COLOUR */
  colour(v: number): string;
  /** black or white, whichever reads better on colour(v) */
  textColour(v: number): string;
  /** true when v is on the wrong side of the threshold (below it for higher-is-better metrics) */
  failsThreshold(v: number): boolean;
  /** evenly spaced stops, min to max, for a gradient colour bar */
  legendStops: LegendStop[];
  nanColour: string;
}

export interface MetricScaleOptions {
  threshold?: number;
  /** overrides the direction table, for metrics it does not know */
  higherIsBetter?: boolean;
  /** fixed domain instead of the values' extent (e.g. [0, 1] for cosine) */
  domain?: [number, number];
  /** number of legend stops (default 11) */
  stops?: number;
}

// Keep the palest end of YlOrRd off pure white so a "best" cell still reads as
// coloured against the page background.
const RAMP_START = 0.08;

export function makeMetricScale(
  metricName: string,
  values: Iterable<number>,
  opts: MetricScaleOptions = {},
): MetricScale {
  const higherIsBetter = opts.higherIsBetter ?? metricHigherIsBetter(metricName);
  const finite: number[] = [];
  for (const v of values) if (Number.isFinite(v)) finite.push(v);

  let [lo, hi] = opts.domain ?? (extent(finite) as [number | undefined, number | undefined]);
  if (lo === undefined || hi === undefined) {
    // No finite data at all: fall back to the threshold, or [0, 1].
    lo = hi = opts.threshold ?? 0;
  }
  if (opts.threshold !== undefined && Number.isFinite(opts.threshold) && !opts.domain) {
    // With a threshold the colours say "how far from failing", not "how far
    // from the best layer": the threshold sits at or past the middle of the
    // ramp, so layers that all pass (cosine 0.9999 vs 1) stay pale.
    const t = opts.threshold;
    if (higherIsBetter) lo = Math.min(lo, 2 * t - hi);
    else hi = Math.max(hi, 2 * t - lo);
  }
  const constant = lo === hi;
  if (constant) {
    // Equal values carry no contrast: widen the domain symmetrically so they
    // all land on the ramp's middle colour instead of dividing by zero.
    const pad = Math.max(Math.abs(lo) * 1e-3, 1e-9);
    lo -= pad;
    hi += pad;
  }
  const domain: [number, number] = [lo, hi];

  // badness: 0 = best end of the domain, 1 = worst end. Clamped, so +/-Infinity
  // (SQNR of an exact layer, say) lands on the matching end.
  const badness = scaleLinear()
    .domain(higherIsBetter ? [hi, lo] : [lo, hi])
    .range([0, 1])
    .clamp(true);

  const colour = (v: number): string => {
    if (Number.isNaN(v) || v === undefined || v === null) return NAN_COLOUR;
    return interpolateYlOrRd(RAMP_START + (1 - RAMP_START) * badness(v));
  };
  const textColour = (v: number): string => readableTextOn(colour(v));
  const threshold = opts.threshold;
  const failsThreshold = (v: number): boolean => {
    if (threshold === undefined || Number.isNaN(v)) return false;
    return higherIsBetter ? v < threshold : v > threshold;
  };

  const n = Math.max(2, opts.stops ?? 11);
  const legendStops: LegendStop[] = [];
  for (let i = 0; i < n; i++) {
    const offset = i / (n - 1);
    const value = lo + (hi - lo) * offset;
    legendStops.push({ offset, value, colour: colour(value) });
  }
  const thresholdOffset =
    threshold === undefined ? undefined : Math.min(1, Math.max(0, (threshold - lo) / (hi - lo)));

  return {
    metric: metricName,
    higherIsBetter,
    domain,
    constant,
    threshold,
    thresholdOffset,
    colour,
    textColour,
    failsThreshold,
    legendStops,
    nanColour: NAN_COLOUR,
  };
}

/** Compact number for legends, tooltips and cells: 0.9987, 1.2e-5, 34.1. */
/** WCAG relative luminance of a CSS colour. */
function luminance(css: string): number {
  const c = rgb(css);
  const lin = (x: number) => {
    const s = x / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
}

/** Contrast ratio of two CSS colours (1 to 21). */
export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * Black or white, whichever reads better on `background`: by luminance, not
 * HSL lightness (white on saturated orange has HSL lightness 0.5 but fails
 * WCAG). Pure black and white keep every background at 4.5:1 or more.
 */
export function readableTextOn(background: string): string {
  return contrastRatio(background, '#ffffff') >= contrastRatio(background, '#000000') ? '#ffffff' : '#000000';
}

export function formatMetricValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  if (a >= 100) return v.toFixed(1);
  return Number(v.toPrecision(4)).toString();
}
