// A job that only waits, in steps: it lets tests exercise progress,
// cancellation, a crashing worker and large results without a model.

import type { JobHandler } from './index';

export const debugSleepJob: JobHandler<'debug.sleep'> = async (params, ctx) => {
  for (let i = 0; i < params.steps; i++) {
    ctx.throwIfCancelled();
    ctx.progress('sleep', i, params.steps);
    if (params.crash && i === Math.floor(params.steps / 2)) process.exit(3);
    await new Promise((r) => setTimeout(r, params.stepMs));
  }
  ctx.progress('sleep', params.steps, params.steps);
  return params.resultBytes ? { steps: params.steps, padding: 'x'.repeat(params.resultBytes) } : { steps: params.steps };
};
