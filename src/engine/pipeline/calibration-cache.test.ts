// The calibration cache gives exactly what calibrate() gives, and a config
// that only skips layers or changes ARQ parameters calibrates nothing.

import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { loadModel } from '../onnx';
import { calibrate } from '../quant/calibrate';
import { openDataFor } from '../data/for-model';
import { foldBatchNorm } from '../quant/fusion';
import { configModelOf, resolveQuantConfig } from '../quant/quantize';
import { CalibrationCache } from './calibration-cache';

const sample = resolve('resources/sample');

async function setup() {
  const model = loadModel(`${sample}/sensitive_fmnist.onnx`);
  const config = resolveQuantConfig(undefined, configModelOf(model));
  foldBatchNorm(model);
  const dataset = await openDataFor(model, { data: `${sample}/calib_x.npy` });
  return { model, config, dataset };
}

describe('CalibrationCache', () => {
  it('matches calibrate() and calibrates nothing again when only skips and ARQ change', async () => {
    const { model, config, dataset } = await setup();
    const cache = new CalibrationCache();
    const plain = await calibrate(model, dataset, config, { batchSize: 32 });
    const first = await cache.calibrate(model, dataset, config, { batchSize: 32 });
    expect(first.layers.map((l) => [l.name, l.ifmr.scale, l.ifmr.offset])).toEqual(plain.layers.map((l) => [l.name, l.ifmr.scale, l.ifmr.offset]));
    expect(cache.misses).toBe(plain.layers.length);

    const skipped = structuredClone(config);
    const names = Object.keys(skipped.layers);
    skipped.layers[names[3]].quant_enable = false;
    skipped.layers[names[5]].weight_quant_params = { channel_wise: false };
    const again = await cache.calibrate(model, dataset, skipped, { batchSize: 32 });
    expect(cache.misses).toBe(plain.layers.length); // nothing new calibrated
    expect(again.layers.map((l) => l.name)).not.toContain(names[3]);
    expect(again.layers.find((l) => l.name === names[5])!.config.weight.channelWise).toBe(false);
    expect(again.layers.find((l) => l.name === names[6])!.ifmr.scale).toBe(plain.layers.find((l) => l.name === names[6])!.ifmr.scale);
  });

  it('calibrates only the layer whose activation parameters changed, with the result calibrate() gives', async () => {
    const { model, config, dataset } = await setup();
    const cache = new CalibrationCache();
    await cache.calibrate(model, dataset, config, { batchSize: 32 });
    const before = cache.misses;
    const changed = structuredClone(config);
    const layer = Object.keys(changed.layers)[4];
    changed.layers[layer].activation_quant_params = { ...changed.layers[layer].activation_quant_params, max_percentile: 0.999, min_percentile: 0.999 };
    const r = await cache.calibrate(model, dataset, changed, { batchSize: 32 });
    expect(cache.misses).toBe(before + 1);
    const reference = await calibrate(model, dataset, changed, { batchSize: 32 });
    expect(r.layers.find((l) => l.name === layer)!.ifmr.scale).toBe(reference.layers.find((l) => l.name === layer)!.ifmr.scale);
  });

  it('calibrates a layer fed by the graph input alone', async () => {
    const { model, config, dataset } = await setup();
    const stem = Object.keys(config.layers)[0];
    const only = { ...config, layers: { [stem]: config.layers[stem] } };
    const r = await new CalibrationCache().calibrate(model, dataset, only, { batchSize: 32 });
    expect(r.layers.map((l) => l.name)).toEqual([stem]);
    expect(r.layers[0].ifmr.scale).toBeGreaterThan(0);
  });
});
