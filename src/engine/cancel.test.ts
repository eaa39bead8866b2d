import { describe, expect, it } from 'vitest';
import { runSteps, runStepsSync, type Steps } from './cancel';

/** Holds the thread for `ms`, as a step of synchronous work does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

function* work(steps: number, stepMs: number, log: { done: number; closed: boolean }): Steps<string> {
  try {
    for (let i = 0; i < steps; i++) {
      busy(stepMs);
      log.done++;
      yield;
    }
    return 'finished';
  } finally {
    log.closed = true;
  }
}

describe('runSteps', () => {
  it('runs synchronous steps to their result, with or without turns of the event loop', async () => {
    expect(runStepsSync(work(5, 0, { done: 0, closed: false }))).toBe('finished');
    expect(await runSteps(work(5, 0, { done: 0, closed: false }), undefined)).toBe('finished');
  });

  it('hears a Cancel that arrives as an event while the steps run, stops there and closes the work', async () => {
    const whole = { done: 0, closed: false };
    const t0 = performance.now();
    runStepsSync(work(40, 10, whole));
    const wholeMs = performance.now() - t0;

    const log = { done: 0, closed: false };
    const ac = new AbortController();
    // a timer is an event like a cancel message: it can only fire when the steps give the loop a turn
    setTimeout(() => ac.abort(), wholeMs / 10);
    await expect(runSteps(work(40, 10, log), ac.signal, 20)).rejects.toMatchObject({ code: 'cancelled' });
    // steps counted, not time: other tests share the machine's cores and may hold the timer back a little
    expect(log.done).toBeLessThan(30);
    expect(log.closed).toBe(true);
  });
});
