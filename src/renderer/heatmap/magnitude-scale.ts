// Cell colours for quantities that are neither good nor bad (a layer's time):
// blue by size from zero to the column's largest value, never the red that
// means "look here".
import { extent, interpolateBlues } from 'd3';
import { NAN_COLOUR, readableTextOn } from '../lib/colour-scale';

/** What the heatmap needs of a scale to paint and outline a cell. */
export interface CellScale {
  colour(v: number): string;
  textColour(v: number): string;
  failsThreshold(v: number): boolean;
}

export function magnitudeScale(values: Iterable<number>): CellScale {
  const finite = [...values].filter((v) => Number.isFinite(v));
  const max = Math.max(extent(finite)[1] ?? 0, 1e-12);
  const colour = (v: number) => (Number.isFinite(v) ? interpolateBlues(0.05 + 0.55 * Math.max(0, v / max)) : NAN_COLOUR);
  return {
    colour,
    textColour: (v) => readableTextOn(colour(v)),
    failsThreshold: () => false,
  };
}
