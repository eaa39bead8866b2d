// What a job handler gets from the worker: its cancellation signal and a
// progress reporter that adds the ETA and throttles chatty jobs.

import type { JobProgress } from '../shared/api';
import { throwIfAborted } from '../shared/errors';

export interface JobContext {
  signal: AbortSignal;
  progress(stage: string, done: number, total: number, message?: string, pass?: { pass: number; passes: number }): void;
  /** throws QtuneError('cancelled') once the job was cancelled */
  throwIfCancelled(): void;
  /** report something to the backend as it happens (a tuning trial), in order, never throttled */
  emit(event: unknown): void;
}

export function createJobContext(signal: AbortSignal, send: (p: JobProgress) => void, now = () => Date.now(), emit: (event: unknown) => void = () => undefined): JobContext {
  let stageStart = now();
  let currentStage = '';
  let lastSent = 0;
  return {
    signal,
    progress(stage, done, total, message, pass) {
      const t = now();
      if (stage !== currentStage) {
        currentStage = stage;
        stageStart = t;
      }
      // At most ~10 messages a second, but always the first and the last of a stage.
      if (t - lastSent < 100 && done !== 0 && done !== total) return;
      lastSent = t;
      const elapsed = (t - stageStart) / 1000;
      const etaSeconds = done > 0 && total > done && elapsed > 0.2 ? (elapsed / done) * (total - done) : undefined;
      send({ stage, done, total, etaSeconds, message, ...pass });
    },
    emit,
    throwIfCancelled() {
      throwIfAborted(signal);
    },
  };
}
