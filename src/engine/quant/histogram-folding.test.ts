import { describe, expect, it } from 'vitest';
import { inThreadFolder, threadFolder, type FoldItem } from './histogram-folding';

/** Two tensors over three runs: wider each run (so the grids merge), zeros and negatives included. */
function runs(): FoldItem[][] {
  let s = 11;
  const rnd = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  return [1, 4, 2].map((spread) => ['a', 'b'].map((tensor, k) => {
    const values = new Float32Array(5000 + 1000 * k).map(() => (rnd() < 0.3 ? 0 : (rnd() - 0.2) * spread * (k + 1)));
    let min = Infinity, max = -Infinity;
    for (const v of values) { min = Math.min(min, v); max = Math.max(max, v); }
    return { tensor, values, min, max, movable: true };
  }));
}

const copyRun = (items: FoldItem[]) => items.map((it) => ({ ...it, values: it.values.slice() }));

describe('histogram folding', () => {
  it('threads build the same histograms, bin for bin, as the calling thread', async () => {
    const data = runs();
    const local = inThreadFolder();
    const threaded = threadFolder(2, new Map([['a', 5000], ['b', 6000]]));
    for (const r of data) {
      await local.fold(copyRun(r));
      await threaded.fold(copyRun(r));
    }
    const [a, b] = [await local.finish(), await threaded.finish()];
    expect([...b.keys()].sort()).toEqual(['a', 'b']);
    for (const t of ['a', 'b']) {
      const [x, y] = [a.get(t)!, b.get(t)!];
      expect({ width: y.width, origin: y.origin, count: y.count }).toEqual({ width: x.width, origin: x.origin, count: x.count });
      expect(y.moments).toEqual(x.moments);
    }
  });

  it('moves a buffer that is the values\' alone and copies one the caller shares', async () => {
    const folder = threadFolder(1, new Map([['a', 8], ['b', 4]]));
    const own = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const shared = new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]);
    const view = shared.subarray(2, 6);
    await folder.fold([{ tensor: 'a', values: own, min: 1, max: 8, movable: true }, { tensor: 'b', values: view, min: 2, max: 5, movable: true }]);
    expect(own.length).toBe(0); // detached: it went to the thread
    expect([...shared]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const h = await folder.finish();
    expect(h.get('a')!.count).toBe(8);
    expect(h.get('b')!.total()).toBe(14);
  });

  it('refuses a tensor it was not given, and closes without folding anything', async () => {
    const folder = threadFolder(1, new Map([['a', 1]]));
    await expect(folder.fold([{ tensor: 'z', values: new Float32Array([1]), min: 1, max: 1, movable: false }])).rejects.toMatchObject({ code: 'internal' });
    await folder.close();
    await folder.close();
  });
});
