import { describe, expect, it } from 'vitest';
import { codesApart } from './codes-kernel';

let seed = 5;
const rand = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;

/** The definition, one code at a time. */
function reference(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let bad = 0;
  for (let i = 0; i < got.length; i++) if (Math.abs(got[i] - want[i]) > 1) bad++;
  return bad;
}

describe('counting codes more than one step apart', () => {
  it.each([0, 1, 15, 16, 17, 1000, 65535, 65536, 65537, 200_001])('%i codes, uint8 and int8, near and far differences and the extremes', (n) => {
    for (const signed of [false, true]) {
      const [lo, hi] = signed ? [-128, 127] : [0, 255];
      const make = (values: number[]) => (signed ? Int8Array.from(values) : Uint8Array.from(values));
      const want = make(Array.from({ length: n }, () => lo + Math.floor(rand() * (hi - lo + 1))));
      // mostly equal or one step off (rounding ties), some far, some at opposite ends of the range
      const got = make(Array.from(want, (v) => {
        const r = rand();
        const moved = r < 0.6 ? v : r < 0.8 ? v + (rand() < 0.5 ? 1 : -1) : r < 0.95 ? v + Math.round((rand() - 0.5) * 20) : rand() < 0.5 ? lo : hi;
        return Math.min(hi, Math.max(lo, moved));
      }));
      expect(codesApart(got, want), `${signed ? 'int8' : 'uint8'} ${n}`).toBe(reference(got, want));
    }
  });

  it('a view into a larger buffer counts its own codes only', () => {
    const buf = new Uint8Array(100).fill(9);
    const got = buf.subarray(10, 50), want = new Uint8Array(40).fill(9);
    got[0] = 0; got[39] = 255;
    expect(codesApart(got, want)).toBe(2);
    expect(() => codesApart(got, new Uint8Array(3))).toThrow(/40 codes with 3/);
  });
});
