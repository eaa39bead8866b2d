import { describe, expect, it } from 'vitest';
import { SQNR_CAP_DB } from '../../shared/eval-types';
import { judgeTarget } from './target';

describe('judgeTarget with a similarity target', () => {
  it('cosine ≥ threshold: higher is better, the drop measured from the float model\'s own 1', () => {
    const ok = judgeTarget(1, 0.995, { mode: 'similarity', metric: 'cosine', threshold: 0.99 });
    expect(ok.meets).toBe(true);
    expect(ok.drop).toBeCloseTo(0.005, 12);
    expect(ok.allowed).toBeCloseTo(0.01, 12);
    expect(ok.message).toBe('cosine of every output to the float model\'s: quantized 0.99500; target cosine ≥ 0.99000 — meets the target');
    const miss = judgeTarget(1, 0.985, { mode: 'similarity', metric: 'cosine', threshold: 0.99 });
    expect(miss.meets).toBe(false);
    expect(miss.message).toMatch(/misses the target$/);
    // exactly at the threshold meets it
    expect(judgeTarget(1, 0.99, { mode: 'similarity', metric: 'cosine', threshold: 0.99 }).meets).toBe(true);
  });

  it('SQNR ≥ threshold dB', () => {
    expect(judgeTarget(SQNR_CAP_DB, 31.2, { mode: 'similarity', metric: 'sqnr', threshold: 30 }).meets).toBe(true);
    const miss = judgeTarget(SQNR_CAP_DB, 28, { mode: 'similarity', metric: 'sqnr', threshold: 30 });
    expect(miss.meets).toBe(false);
    expect(miss.message).toContain('quantized 28.00 dB; target SQNR ≥ 30.00 dB');
  });

  it('MSE ≤ threshold: lower is better, and the drop grows with the MSE', () => {
    const ok = judgeTarget(0, 2e-4, { mode: 'similarity', metric: 'mse', threshold: 1e-3 });
    expect(ok.meets).toBe(true);
    expect(ok.drop).toBe(2e-4);
    expect(ok.allowed).toBe(1e-3);
    expect(ok.message).toContain('target MSE ≤ 1.000e-3');
    const miss = judgeTarget(0, 3e-3, { mode: 'similarity', metric: 'mse', threshold: 1e-3 });
    expect(miss.meets).toBe(false);
    expect(miss.drop).toBeGreaterThan(ok.drop);
  });
});
