import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { speedupSentence } from '../../shared/deploy-types';
import { compareLatency, latencyStats } from './latency';
import { u8s8IsExact } from './kernel-probe';

const LENET = join(process.cwd(), 'test/fixtures/models/lenet_mnist.onnx');

describe('latency', () => {
  it('median and p90 (nearest rank) of the timed runs, throughput at the median', () => {
    const s = latencyStats(4, 2, [5, 1, 4, 2, 3, 10, 6, 7, 8, 9]);
    expect(s).toEqual({ batchSize: 4, warmup: 2, repetitions: 10, medianMs: 5.5, p90Ms: 9, throughput: 4000 / 5.5 });
    expect(latencyStats(1, 0, [3, 1, 2]).medianMs).toBe(2);
  });

  it('times a model and its reference interleaved at each batch size', async () => {
    let calls = 0;
    const r = await compareLatency(LENET, LENET, { batchSizes: [1, 8], warmup: 1, repetitions: 3, onProgress: () => calls++ });
    expect(r.model.stats.map((s) => s.batchSize)).toEqual([1, 8]);
    expect(r.reference!.stats.map((s) => s.repetitions)).toEqual([3, 3]);
    expect(calls).toBe(2 * 2 * (1 + 3));
    for (const s of [...r.model.stats, ...r.reference!.stats]) expect(s.medianMs).toBeGreaterThan(0);
    expect(r.speedup!.map((s) => s.batchSize)).toEqual([1, 8]);
    expect(r.machine).toMatch(/onnxruntime-node \d/);
    expect(r.host?.runtime).toMatch(/^onnxruntime-node \d/);
    expect(r.host?.cores).toBeGreaterThan(0);
  });

  it('says the speed-up plainly, faster or slower', () => {
    expect(speedupSentence({ speedup: [{ batchSize: 1, ratio: 0.9 }, { batchSize: 32, ratio: 1.31 }] })).toBe('int8 runs 1.31× faster than float here (batch 32)');
    expect(speedupSentence({ speedup: [{ batchSize: 32, ratio: 0.5 }] })).toBe('int8 runs 2.00× slower than float here (batch 32)');
    expect(speedupSentence({})).toBeUndefined();
  });

  it('probes once whether this CPU multiplies uint8 × int8 exactly', async () => {
    const a = await u8s8IsExact();
    expect(typeof a).toBe('boolean');
    expect(await u8s8IsExact()).toBe(a);
  });
});
