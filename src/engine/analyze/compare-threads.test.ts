import { afterEach, describe, expect, it } from 'vitest';
import { assignLanes, ComparePool, compareTask, type CompareTask } from './compare-threads';

let pool: ComparePool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

function gaussian(n: number, seed: number): Float32Array {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) + 0.5) / 2 ** 32;
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand()));
}

/** A float side and a quantized side near it (rounded to a grid), `count` samples of `per` values. */
function pair(per: number, count: number, seed: number): CompareTask {
  const y = gaussian(per * count, seed);
  const x = y.map((v) => Math.round(v * 40) / 40);
  return { x, y, per, count };
}

const noPause = () => Promise.resolve();

describe('comparison threads', () => {
  it('give the metrics of the calling thread alone, bit for bit, in task order; views stay with the caller', async () => {
    pool = ComparePool.start(2);
    expect(pool).toBeDefined();
    const own = pair(5000, 3, 1);
    const tasks: CompareTask[] = [
      pair(20000, 2, 2), own, pair(700, 1, 3), pair(30000, 1, 4),
      // views into a larger buffer: they must not be detached, so the caller compares them
      { x: (own.x as Float32Array).slice(), y: (own.y as Float32Array).subarray(0, 5000), per: 5000, count: 1 },
      pair(1, 1, 5),
    ];
    const expected = tasks.map(compareTask);
    const view = tasks[4].y as Float32Array;
    const got = await pool!.compare(tasks, noPause);
    expect(got).toEqual(expected);
    expect(view.byteLength).toBe(20000); // still readable
    // the movable ones went to the threads (their buffers detached here), not all to the caller
    expect(tasks.filter((t) => (t.x as Float32Array).byteLength === 0).length).toBeGreaterThan(0);
  });

  it('tasks that read one buffer (a Relu\'s input, and the Relu\'s output read through it) go to one thread together', async () => {
    pool = ComparePool.start(2);
    const conv = pair(20000, 2, 7);
    const tasks: CompareTask[] = [conv, pair(30000, 1, 8), { ...conv, relu: { x: true, y: true } }, { ...conv, relu: { y: true } }];
    const lanes = assignLanes(tasks, 3);
    expect([lanes[0], lanes[0]]).toEqual([lanes[2], lanes[3]]);
    expect(lanes[1]).not.toBe(lanes[0]);
    const expected = tasks.map(compareTask);
    expect(expected[2]).not.toEqual(expected[0]);
    expect(await pool!.compare(tasks, noPause)).toEqual(expected);
  });

  it('a failure on a thread rejects the comparison with what went wrong', async () => {
    pool = ComparePool.start(1);
    const big = pair(10000, 1, 6);
    // the larger task stays with the caller, the smaller (and broken: sides of different lengths) goes to the thread
    const broken: CompareTask = { x: new Float32Array(100), y: new Float32Array(99), per: 100, count: 1 };
    await expect(pool!.compare([big, broken], noPause)).rejects.toThrow(/comparison thread failed: cannot compare tensors of 100 and 99 elements/);
  });
});
