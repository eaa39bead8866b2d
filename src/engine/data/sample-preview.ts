// Thumbnails of data samples as the model sees them (after preprocessing), so
// the user can check that the data looks right, and see which inputs flipped.

import sharp from 'sharp';
import type { SamplePreview } from '../../shared/run-types';
import type { Dataset } from './dataset';
import { convertData } from './cast';

/** The side of the thumbnail: small images (28×28) are scaled up so they are visible. */
const MIN_SIDE = 84;

/** A CHW (or HW) float sample as an 8-bit PNG, min–max stretched. */
export async function sampleToPng(data: Float32Array, shape: number[]): Promise<{ png: Buffer; width: number; height: number; min: number; max: number }> {
  // Accept [C,H,W], [H,W,C] (C = 1 or 3) and [H,W].
  let channels = 1;
  let height: number;
  let width: number;
  let chw = true;
  if (shape.length === 3 && (shape[0] === 1 || shape[0] === 3)) [channels, height, width] = shape;
  else if (shape.length === 3 && (shape[2] === 1 || shape[2] === 3)) {
    [height, width, channels] = shape;
    chw = false;
  } else if (shape.length === 2) [height, width] = shape;
  else {
    // Not an image: show it as a strip of values.
    height = 1;
    width = data.length;
  }
  let min = Infinity;
  let max = -Infinity;
  for (const v of data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max > min ? max - min : 1;
  const pixels = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const src = chw ? c * width * height + y * width + x : (y * width + x) * channels + c;
        pixels[(y * width + x) * channels + c] = Math.round(((data[src] - min) / range) * 255);
      }
    }
  }
  const scale = Math.max(1, Math.ceil(MIN_SIDE / Math.max(1, Math.min(width, height))));
  const png = await sharp(pixels, { raw: { width, height, channels: channels as 1 | 3 } })
    .resize(width * scale, height * scale, { kernel: 'nearest' })
    .png()
    .toBuffer();
  return { png, width: width * scale, height: height * scale, min, max };
}

/** Previews of the given samples (first model input), in the order asked. */
export async function previewSamples(dataset: Dataset, indices: number[]): Promise<SamplePreview[]> {
  const wanted = new Set(indices.filter((i) => i >= 0 && i < dataset.count));
  const found = new Map<number, SamplePreview>();
  if (wanted.size === 0) return [];
  const last = Math.max(...wanted);
  const input = dataset.inputNames[0];
  for await (const batch of dataset.batches({ batchSize: 64, limit: last + 1 })) {
    const feed = batch.feeds[input];
    const per = feed.dims.slice(1).reduce((a, b) => a * b, 1);
    const values = convertData(feed.data, feed.type, 'float32') as Float32Array;
    for (let k = 0; k < batch.indices.length; k++) {
      const index = batch.indices[k];
      if (!wanted.has(index)) continue;
      const sample = values.subarray(k * per, (k + 1) * per);
      const shape = feed.dims.slice(1);
      const img = await sampleToPng(sample, shape);
      found.set(index, {
        index,
        label: batch.labels?.[k],
        image: `data:image/png;base64,${img.png.toString('base64')}`,
        width: img.width,
        height: img.height,
        shape,
        min: img.min,
        max: img.max,
      });
    }
    if (found.size === wanted.size) break;
  }
  return indices.map((i) => found.get(i)).filter((p): p is SamplePreview => p !== undefined);
}
