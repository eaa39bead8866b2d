// The tuner on real models and data: the bundled sample (whose default int8
// misses a 1-point target), LeNet and MobileNetV2, and its budget, Ctrl+C and
// resume behaviour.

import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SQNR_CAP_DB } from '../../shared/eval-types';
import type { TuneTrial } from '../../shared/tune-types';
import { tune, type TuneOptions } from './tuner';

const sample = resolve('resources/sample');
const fixtures = resolve('test/fixtures');

function options(model: string, data: string, extra: Partial<TuneOptions> = {}): TuneOptions {
  const dir = mkdtempSync(join(tmpdir(), 'qtune-tune-'));
  return {
    modelPath: model,
    calibration: { data: `${data}/calib_x.npy` },
    calibrationBatchSize: 32,
    evaluation: { data: `${data}/eval_x.npy`, labels: `${data}/eval_y.npy`, metric: 'classification', batchSize: 100, target: { mode: 'absolute', points: 1 } },
    trialDir: (i) => join(dir, 'trials', String(i)),
    scratchDir: join(dir, 'scratch'),
    ...extra,
  };
}

const sampleOptions = (extra: Partial<TuneOptions> = {}) => options(`${sample}/sensitive_fmnist.onnx`, sample, extra);

describe('tune', () => {
  it('meets a 1-point target on the sample with at most the two layers the analyzer finds, in 10 evaluations at most', async () => {
    const seen: TuneTrial[] = [];
    const s = await tune(sampleOptions({ onTrial: (t) => void seen.push(t) }));
    // the analyzer's two: the projections after the widened depthwise channels, ranked first
    const flagged = s.ranking!.filter((r) => r.sensitivity < 0.995).map((r) => r.layer);
    expect(flagged.sort()).toEqual(['/features/b0/block/project/conv/Conv', '/features/b2/block/project/conv/Conv']);
    expect(s.trials[0].meets).toBe(false);
    const best = s.trials.find((t) => t.index === s.best)!;
    expect(best.meets).toBe(true);
    expect(best.floatLayers.every((l) => flagged.includes(l))).toBe(true);
    expect(s.trials.length).toBeLessThanOrEqual(10);
    expect(seen.map((t) => t.index)).toEqual(s.trials.map((t) => t.index));
    expect(s.status).toBe('done');
    expect(s.verdict).toMatch(/^meets the target with (every layer in int8|\d layers? in float)/);
    // calibration is reused: far fewer layer calibrations made than served
    expect(s.calibration!.reused).toBeGreaterThan(s.calibration!.made);
  });

  it('stops after the first trial on LeNet', async () => {
    const s = await tune(options(`${fixtures}/models/lenet_mnist.onnx`, `${fixtures}/data/mnist`));
    expect(s.trials).toHaveLength(1);
    expect(s.trials[0].meets).toBe(true);
    expect(s.stopReason).toBe('the starting config meets the target');
    expect(s.ranking).toBeUndefined();
  });

  it('on MobileNetV2 stops after the first trial when it meets the target, and otherwise ends meeting it', async () => {
    // What the runtime's int8 kernels give depends on the CPU (without VNNI, x86 saturates some
    // int8 products): both outcomes are checked, each for what it must be.
    const s = await tune(options(`${fixtures}/models/mobilenetv2_fmnist.onnx`, `${fixtures}/data/fmnist`));
    if (s.trials[0].meets) expect(s.trials).toHaveLength(1);
    else expect(s.trials.find((t) => t.index === s.best)!.meets).toBe(true);
  });

  it('re-quantizes the long-tailed layer of the longtail fixture with other IFMR parameters instead of leaving it in float', async () => {
    const s = await tune(options(`${fixtures}/models/longtail_mnist.onnx`, `${fixtures}/data/mnist`));
    expect(s.trials[0].meets).toBe(false);
    expect(s.ranking![0].layer).toBe('/classifier/fc2/Gemm');
    const best = s.trials.find((t) => t.index === s.best)!;
    expect(best.meets).toBe(true);
    expect(best.floatLayers).not.toContain('/classifier/fc2/Gemm');
    expect(best.tuned.map((t) => t.layer)).toContain('/classifier/fc2/Gemm');
    const fc2 = best.config['/classifier/fc2/Gemm'] as { quant_enable: boolean; activation_quant_params: { max_percentile: number } };
    expect(fc2.quant_enable).toBe(true);
    expect(fc2.activation_quant_params.max_percentile).toBeLessThan(0.999999);
  });

  it('stops when the budget is spent, with the documented verdict when nothing met the target', async () => {
    // one trial: the default config, which misses the target on the sample
    const s = await tune(sampleOptions({ budget: { maxTrials: 1 } }));
    expect(s.trials).toHaveLength(1);
    expect(s.status).toBe('budget');
    expect(s.stopReason).toBe('the budget of 1 trial is spent');
    expect(s.verdict).toMatch(/^not suitable for quantization/);
  });

  it('keeps every trial so far when cancelled, and a resumed session evaluates none of them again', async () => {
    const abort = new AbortController();
    const first = await tune(sampleOptions({ signal: abort.signal, onTrial: (t) => void (t.index === 2 && abort.abort()) }));
    expect(first.status).toBe('stopped');
    expect(first.trials).toHaveLength(2);
    const evaluated: number[] = [];
    const resumed = await tune(sampleOptions({ previous: first, budget: { maxTrials: 3 }, onTrial: (t) => void evaluated.push(t.index) }));
    expect(resumed.trials.slice(0, 2)).toEqual(first.trials);
    expect(evaluated).toEqual([3]);
  });

  describe('a similarity target, without labels, on the two-output fixture', () => {
    const twohead = `${fixtures}/models/twohead_mnist.onnx`;
    const similarity = (target: TuneOptions['evaluation']['target'], extra: Partial<TuneOptions> = {}) => {
      const o = options(twohead, `${fixtures}/data/mnist`, extra);
      return { ...o, evaluation: { data: o.evaluation.data, metric: 'fidelity' as const, batchSize: 100, target } };
    };

    it('SQNR ≥ 40 dB: the default config misses (37.5 dB over both outputs), the tuner stops at the first config that reaches it', async () => {
      const s = await tune(similarity({ mode: 'similarity', metric: 'sqnr', threshold: 40 }));
      expect(s.trials[0].meets).toBe(false);
      expect(s.trials[0].value).toBeGreaterThan(30);
      expect(s.trials[0].value).toBeLessThan(40);
      // the float model against itself: identical outputs, SQNR at its cap
      expect(s.floatValue).toBe(SQNR_CAP_DB);
      const best = s.trials.find((t) => t.index === s.best)!;
      expect(best.meets).toBe(true);
      expect(best.value).toBeGreaterThanOrEqual(40);
      expect(best.floatLayers.length).toBeGreaterThan(0);
      expect(s.verdict).toMatch(/^meets the target with \d layers? in float: .*int8 sqnr \d+\.\d\d dB/);
    });

    it('MSE ≤ x: lower is better — among trials that all miss, the best is the one with the smallest MSE', async () => {
      const s = await tune(similarity({ mode: 'similarity', metric: 'mse', threshold: 1e-5 }, { budget: { maxTrials: 4 } }));
      expect(s.trials.length).toBeGreaterThan(1);
      expect(s.trials.every((t) => !t.meets)).toBe(true);
      const measured = s.trials.filter((t) => !t.error);
      const smallest = Math.min(...measured.map((t) => t.value));
      expect(s.trials.find((t) => t.index === s.best)!.value).toBe(smallest);
      // the default config is not the smallest here: more layers in float bring the outputs closer
      expect(s.trials[0].value).toBeGreaterThan(smallest);
      expect(s.trials[0].drop).toBeCloseTo(s.trials[0].value, 12);
    });
  });
});
