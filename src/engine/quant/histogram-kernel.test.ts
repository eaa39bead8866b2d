import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedModule, moduleFor, watFiles } from '../../../scripts/build-wasm.js';
import { FoldArena } from './histogram-kernel';
import { HISTOGRAM_MAX_BINS, MergedHistogram } from './merged-histogram';

/** Batches like a layer's inputs: ReLU zeros, runs of one value, negatives, a range that widens, a NaN-free tail. */
function batches(): Float32Array[] {
  let s = 5;
  const rnd = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  // lengths past the kernel's scratch area (65,536 values) and not a multiple of it
  return [70_001, 3, 140_000, 1].map((n, b) => new Float32Array(n).map((_, i) => {
    const r = rnd();
    if (r < 0.4) return 0;
    if (r < 0.45) return 6; // a clipped activation's ceiling
    return (rnd() - 0.1) * (b + 1) * (i % 7 === 0 ? 50 : 1);
  }));
}

const minMax = (v: Float32Array): [number, number] => {
  let lo = Infinity, hi = -Infinity;
  for (const x of v) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
  return [lo, hi];
};

describe('the compiled fold', () => {
  it('gives the TypeScript loop\'s moments to the bit, across batches that widen the grid', () => {
    const arena = new FoldArena();
    const [compiled, plain] = [new MergedHistogram(arena), new MergedHistogram()];
    for (const b of batches()) {
      compiled.add(b, ...minMax(b));
      plain.add(b, ...minMax(b));
    }
    expect({ width: compiled.width, origin: compiled.origin, count: compiled.count, bins: compiled.bins })
      .toEqual({ width: plain.width, origin: plain.origin, count: plain.count, bins: plain.bins });
    expect(compiled.moments.length).toBe(3 * HISTOGRAM_MAX_BINS);
    const bytes = (m: Float64Array) => Buffer.from(m.buffer, m.byteOffset, m.byteLength);
    expect(bytes(compiled.moments).equals(bytes(plain.moments))).toBe(true);
    // the state that crosses threads is a copy of its own, not the arena's memory
    const state = compiled.state();
    expect(state.moments.buffer).not.toBe(arena.buffer);
    expect(MergedHistogram.fromState(state).prefixSums().s2[HISTOGRAM_MAX_BINS]).toBe(plain.prefixSums().s2[HISTOGRAM_MAX_BINS]);
  });

  it('lands a NaN in bin 0 as the loop does, and skips what lies outside the grid', () => {
    const arena = new FoldArena();
    const [compiled, plain] = [new MergedHistogram(arena), new MergedHistogram()];
    for (const h of [compiled, plain]) {
      h.add(Float32Array.from([1, 2, 3]), 1, 3);
      // min/max that understate the values: 100 and -5 fall outside the grid
      h.add(Float32Array.from([2, NaN, 100, -5]), 2, 2);
    }
    expect(compiled.countOf(0)).toBe(plain.countOf(0));
    expect(Number.isNaN(compiled.total())).toBe(true);
    expect([...compiled.moments].map(String)).toEqual([...plain.moments].map(String));
  });

  it('keeps many histograms in one memory, each view valid after the memory grows, and reuses freed regions', () => {
    const arena = new FoldArena();
    const hs = Array.from({ length: 12 }, () => new MergedHistogram(arena));
    hs.forEach((h, k) => h.add(Float32Array.from([k, k + 0.5]), k, k + 0.5));
    hs.forEach((h, k) => expect(h.total()).toBe(2 * k + 0.5));
    // a wider batch moves a histogram to a coarser grid: its old region is reused by the next one made
    hs[0].add(Float32Array.from([1e6]), 1e6, 1e6);
    const size = arena.buffer.byteLength;
    const next = new MergedHistogram(arena);
    next.add(Float32Array.from([7]), 7, 7);
    expect(arena.buffer.byteLength).toBe(size);
    expect(hs[0].total()).toBe(1e6 + 0.5);
    expect(next.total()).toBe(7);
    expect(hs[11].total()).toBe(22.5);
  });
});

describe('generated WebAssembly modules', () => {
  it('match their .wat sources (run npm run build:wasm after editing one)', async () => {
    const files = watFiles();
    expect(files.length).toBeGreaterThan(0);
    for (const wat of files) expect(readFileSync(moduleFor(wat), 'utf8'), moduleFor(wat)).toBe(await generatedModule(wat));
  });
});
