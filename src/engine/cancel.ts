// Cancel is heard only when the event loop runs: the worker's cancel message and the CLI's Ctrl+C arrive as
// events, so a signal checked inside a long synchronous stretch stays unaborted until that stretch ends.
// Long synchronous work therefore gives the loop a turn every few tens of milliseconds and then checks.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { throwIfAborted } from '../shared/errors';

/** How long synchronous work runs between turns of the event loop (short next to a second; a turn costs microseconds). */
export const SLICE_MS = 50;

/** Lets pending events run (a cancel message, Ctrl+C), then stops if the work was cancelled. */
export async function checkpoint(signal: AbortSignal | undefined): Promise<void> {
  await nextTurn();
  throwIfAborted(signal);
}

/** A checkpoint at most every `everyMs` of work: cheap enough to call after every small step of a loop. */
export class Pacer {
  private last = performance.now();

  constructor(private readonly signal: AbortSignal | undefined, private readonly everyMs = SLICE_MS) {}

  async tick(): Promise<void> {
    throwIfAborted(this.signal);
    if (performance.now() - this.last < this.everyMs) return;
    await checkpoint(this.signal);
    this.last = performance.now();
  }
}

/**
 * Work written as a generator that yields between its steps: `runSteps` gives the event loop a turn between
 * steps (and stops there on cancel, closing the generator so its `finally` blocks run); `runStepsSync` runs it
 * straight through, for callers that need the result at once.
 */
export type Steps<T> = Generator<void, T, void>;

export async function runSteps<T>(steps: Steps<T>, signal: AbortSignal | undefined, everyMs = SLICE_MS): Promise<T> {
  const pacer = new Pacer(signal, everyMs);
  let finished = false;
  try {
    for (;;) {
      const r = steps.next();
      if (r.done) {
        finished = true;
        return r.value;
      }
      await pacer.tick();
    }
  } finally {
    if (!finished) steps.return(undefined as T);
  }
}

export function runStepsSync<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
