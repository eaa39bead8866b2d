// The one door to the backend. Components call `api()` and `runJob()`; they
// never ask which host they run in.

import type { JobProgress, QtuneApi, QtuneEvent } from '../../shared/api';
import type { JobKind, JobParams, JobResult } from '../../shared/jobs';
import { createWebSocketApi, socketUrlFromLocation } from './ws-client';

declare global {
  interface Window {
    qtune?: QtuneApi;
  }
}

let instance: QtuneApi | null = null;

export function api(): QtuneApi {
  if (!instance) instance = window.qtune ?? createWebSocketApi(socketUrlFromLocation(window.location));
  return instance;
}

export interface RunningJob<R> {
  jobId: Promise<string>;
  result: Promise<R>;
  cancel(): Promise<void>;
}

/** Start a job and follow it: progress callbacks, then its result or error. */
export function runJob<K extends JobKind>(kind: K, params: JobParams<K>, onProgress?: (p: JobProgress) => void): RunningJob<JobResult<K>> {
  return followJob<JobResult<K>>(
    api().call('job.start', { kind, params } as never).then((r) => r.jobId),
    onProgress,
  );
}

/**
 * Follow a job that some RPC call started (project.startRun, project.analyze):
 * `started` resolves to its id. Events that arrive before the id is known are
 * kept and replayed, so a fast job's progress and end are never missed.
 */
export function followJob<R>(started: Promise<string>, onProgress?: (p: JobProgress) => void): RunningJob<R> {
  const qt = api();
  let settle!: { resolve(v: R): void; reject(e: unknown): void };
  const result = new Promise<R>((resolve, reject) => (settle = { resolve, reject }));
  let id: string | null = null;
  const early: QtuneEvent[] = [];
  const handle = (e: QtuneEvent) => {
    if (!('jobId' in e)) return;
    if (id === null) return void early.push(e);
    if (e.jobId !== id) return;
    if (e.type === 'job.progress') onProgress?.(e.progress);
    else if (e.type === 'job.done') {
      off();
      settle.resolve(e.result as R);
    } else if (e.type === 'job.failed') {
      off();
      settle.reject(Object.assign(new Error(e.error.message), { error: e.error }));
    }
  };
  const off = qt.onEvent(handle);
  const jobId = started
    .then((jobId) => {
      id = jobId;
      early.splice(0).forEach(handle);
      return jobId;
    })
    .catch((err) => {
      off();
      settle.reject(err);
      throw err;
    });
  // the caller awaits `result`; an early rejection of `jobId` is reported there
  jobId.catch(() => undefined);
  return {
    jobId,
    result,
    async cancel() {
      await qt.call('job.cancel', { jobId: await jobId });
    },
  };
}

export function errorMessage(err: unknown): string {
  if (err && typeof err === 'object' && 'error' in err) return (err as { error: { message: string } }).error.message;
  return err instanceof Error ? err.message : String(err);
}
