// A stand-in worker for the job manager's tests (never part of a build): it
// speaks the real worker protocol and "works" by sleeping in steps, so tests
// can exercise progress, cancellation, a crashing worker and large results
// without a model, and without a test-only job in the app's own worker.

import { cancelledError, serializeError } from '../shared/errors';
import type { FromWorker, ToWorker } from '../shared/worker-protocol';

export interface SleepParams {
  steps: number;
  stepMs: number;
  crash?: boolean;
  resultBytes?: number;
}

const send = (msg: FromWorker) => process.send!(msg);
let cancelled = false;

async function sleep(p: SleepParams): Promise<void> {
  for (let i = 0; i < p.steps; i++) {
    if (cancelled) {
      send({ type: 'error', error: serializeError(cancelledError()) });
      return;
    }
    send({ type: 'progress', progress: { stage: 'sleep', done: i, total: p.steps } });
    if (p.crash && i === Math.floor(p.steps / 2)) process.exit(3);
    await new Promise((r) => setTimeout(r, p.stepMs));
  }
  send({ type: 'progress', progress: { stage: 'sleep', done: p.steps, total: p.steps } });
  send({ type: 'result', result: p.resultBytes ? { steps: p.steps, padding: 'x'.repeat(p.resultBytes) } : { steps: p.steps } });
}

process.on('message', (m) => {
  const msg = m as ToWorker;
  if (msg.type === 'cancel') cancelled = true;
  else if (msg.type === 'run') void sleep(msg.params as SleepParams);
});
send({ type: 'ready' });
