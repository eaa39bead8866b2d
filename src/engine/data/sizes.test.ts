// Images of different sizes: the size policy decides how they are sized and
// batched, for calibration (both statistics methods), evaluation and analysis.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import sharp from 'sharp';
import { findQuantizableLayers, loadModel } from '../onnx';
import { calibrate } from '../quant/calibrate';
import { createQuantConfig } from '../quant/config';
import { openDataFor } from './for-model';
import { listImages } from './sources';
import { letterboxPlacement } from './sizes';
import type { ImagePreprocess } from '../../shared/dataset-schema';

const FCN = join(process.cwd(), 'test/fixtures/models/fcn_mnist.onnx');
const SIZES = join(process.cwd(), 'test/fixtures/data/mnist/sizes_png');
const GRAY: ImagePreprocess = { color: 'gray', scale: 1 / 255 };

describe('letterboxPlacement', () => {
  it('fits the image inside the box with its aspect ratio, centred', () => {
    expect(letterboxPlacement(20, 40, { width: 40, height: 40 })).toEqual({ width: 20, height: 40, left: 10, top: 0 });
    expect(letterboxPlacement(44, 22, { width: 40, height: 30 })).toEqual({ width: 40, height: 20, left: 0, top: 5 });
    expect(letterboxPlacement(10, 10, { width: 40, height: 40 })).toEqual({ width: 40, height: 40, left: 0, top: 0 });
  });
});

describe('size policies on an image folder of mixed sizes', () => {
  it('without a policy a mixed batch is refused with the choices; batch-of-one runs each at its own size', async () => {
    const model = loadModel(FCN);
    const plain = await openDataFor(model, { data: SIZES, preprocess: GRAY });
    await expect(async () => {
      for await (const b of plain.batches({ batchSize: 4 })) void b;
    }).rejects.toThrow(/images differ in size: run each at its own size with --sizes batch-of-one/);

    const one = await openDataFor(model, { data: SIZES, preprocess: GRAY, sizes: 'batch-of-one' });
    expect(one.effectiveBatchSize(8)).toBe(8); // counts stay in samples
    expect(one.runSize(8)).toBe(1);
    const { files } = await listImages(SIZES);
    const seen: number[][] = [];
    for await (const b of one.batches({ batchSize: 8, limit: 5 })) seen.push(b.feeds.input.dims);
    const expected = await Promise.all(files.slice(0, 5).map(async (f) => {
      const m = await sharp(f).metadata();
      return [1, 1, m.height!, m.width!];
    }));
    expect(seen).toEqual(expected);
    expect(new Set(seen.map((d) => d.join())).size).toBeGreaterThan(1);
  });

  it('letterbox gives every image the set size, padding with the fill value', async () => {
    const model = loadModel(FCN);
    const ds = await openDataFor(model, { data: SIZES, preprocess: GRAY, sizes: { letterbox: { width: 48, height: 40, fill: 255 } } });
    const { files } = await listImages(SIZES);
    const first = await sharp(files[0]).metadata();
    for await (const b of ds.batches({ batchSize: 4, limit: 4 })) {
      expect(b.feeds.input.dims).toEqual([4, 1, 40, 48]);
      const at = letterboxPlacement(first.width!, first.height!, { width: 48, height: 40 });
      const px = b.feeds.input.data as Float32Array;
      // the first image does not fill the box: its corner is the fill (255 × 1/255), and it holds dark digit background
      expect(at.left + at.top).toBeGreaterThan(0);
      expect(px[0]).toBeCloseTo(1, 5);
      expect(px.subarray(0, 40 * 48).some((v) => v < 0.5)).toBe(true);
    }
  });

  it('calibration statistics cover every image whatever its size, and the streaming and held methods agree', async () => {
    const model = loadModel(FCN);
    const layers = findQuantizableLayers(model).filter((l) => l.quantizable);
    const config = createQuantConfig(layers, { batchNum: 2 });
    const open = () => openDataFor(model, { data: SIZES, preprocess: GRAY, sizes: 'batch-of-one' });
    const stream = await calibrate(model, await open(), config, { batchSize: 12, optimize: false });
    const held = await calibrate(model, await open(), config, { batchSize: 12, optimize: false, method: 'held' });
    expect(stream.samples).toBe(24);
    const { files } = await listImages(SIZES);
    const pixels = (await Promise.all(files.slice(0, 24).map((f) => sharp(f).metadata()))).reduce((a, m) => a + m.width! * m.height!, 0);
    const first = stream.layers.find((l) => l.inputTensor === 'input')!;
    expect(first.ifmr.count).toBe(pixels); // every pixel of the 24 images, not of the first one only
    for (const l of stream.layers) {
      const h = held.layers.find((x) => x.name === l.name)!;
      expect(l.ifmr.count).toBe(h.ifmr.count);
      expect(Math.abs(l.ifmr.scale - h.ifmr.scale) / h.ifmr.scale).toBeLessThan(1e-4);
    }
  });
});
