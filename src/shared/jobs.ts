// Job kinds: long work that runs in a worker process. Each kind names its
// parameters and its result; the worker has one handler per kind.

import type { ModelIo } from './model-io';

export interface JobTypes {
  'model.io': { params: { path: string }; result: ModelIo };
  /** test hook: a job that sleeps in steps (cancellation) or crashes its worker */
  'debug.sleep': { params: { steps: number; stepMs: number; crash?: boolean }; result: { steps: number } };
}

export type JobKind = keyof JobTypes;
export type JobParams<K extends JobKind> = JobTypes[K]['params'];
export type JobResult<K extends JobKind> = JobTypes[K]['result'];
export const JOB_KINDS: readonly JobKind[] = ['model.io', 'debug.sleep'];
