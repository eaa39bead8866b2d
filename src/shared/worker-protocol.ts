// Messages between the job manager and a worker process (one worker per job).

import type { JobProgress } from './api';
import type { SerializedError } from './errors';
import type { JobKind } from './jobs';

export type ToWorker = { type: 'run'; jobId: string; kind: JobKind; params: unknown } | { type: 'cancel' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; progress: JobProgress }
  /** something a job reports as it goes, for the backend (a tuning trial); not broadcast */
  | { type: 'event'; event: unknown }
  | { type: 'result'; result: unknown }
  | { type: 'error'; error: SerializedError };
