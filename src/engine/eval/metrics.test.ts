import { describe, expect, it } from 'vitest';
import { SQNR_CAP_DB } from '../../shared/eval-types';
import { cosine, cosineFromSums, fidelityScore, sqnrDb, sqnrFromSums } from './metrics';

// One cosine and one SQNR serve the analyzer (spec §7) and the evaluator's fidelity score.
describe('cosine and SQNR (spec §7)', () => {
  it('identical tensors have cosine exactly 1, even where ‖x‖·‖x‖ rounds above x·x', () => {
    const x = [0.14943456781555797, 0.25245809846236655, 0.46070004397190645];
    let xx = 0;
    for (const v of x) xx += v * v;
    expect(xx / (Math.sqrt(xx) * Math.sqrt(xx))).toBeLessThan(1); // the product of norms would say 0.9999999999999998
    expect(cosine(x, x)).toBe(1);
  });
  it('both sides zero: cosine 1; one side zero: NaN (undefined)', () => {
    expect(cosine([0, 0], [0, 0])).toBe(1);
    expect(cosine([0, 0], [1, 2])).toBeNaN();
    expect(cosine([1, 2], [0, 0])).toBeNaN();
    expect(cosineFromSums(0, 0, 5)).toBeNaN();
  });
  it('a window of a longer array (one sample of a batch)', () => {
    const x = [9, 9, 1, 2, 9];
    const y = [0, 0, 2, 4, 0];
    expect(cosine(x, y, 2, 2)).toBe(1);
    expect(sqnrDb([5, 1.1, 2], [7, 1, 2], 1, 2)).toBeCloseTo(10 * Math.log10(5 / 0.01), 6);
  });
  it('SQNR of identical tensors is +Infinity, of a zero reference −Infinity', () => {
    expect(sqnrDb([1, 2], [1, 2])).toBe(Infinity);
    expect(sqnrFromSums(0, 1)).toBe(-Infinity);
  });
});

describe('fidelityScore', () => {
  it('is finite, so it can be averaged: a dead output scores cosine 0, SQNR stays within ±SQNR_CAP_DB', () => {
    expect(fidelityScore(cosine([1, 2], [0, 0]), 3)).toEqual({ cosine: 0, sqnrDb: 3 });
    expect(fidelityScore(0.5, sqnrDb([1, 2], [1, 2]))).toEqual({ cosine: 0.5, sqnrDb: SQNR_CAP_DB });
    expect(fidelityScore(1, sqnrDb([1, 2], [0, 0])).sqnrDb).toBe(-SQNR_CAP_DB);
  });
});
