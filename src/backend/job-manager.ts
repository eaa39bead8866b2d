// Runs jobs, each in its own worker process, a bounded number at a time, and
// turns worker messages into app events. A worker that crashes fails only its
// own job; a cancelled job's worker gets a moment to stop, then is killed.

import { EventEmitter } from 'node:events';
import type { JobProgress, QtuneEvent } from '../shared/api';
import { cancelledError, deserializeError, isCancelled, QtuneError, serializeError, type SerializedError } from '../shared/errors';
import type { JobKind, JobParams, JobResult } from '../shared/jobs';
import type { WorkerChannel, WorkerLauncher } from './worker-launcher';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface JobRecord {
  id: string;
  kind: JobKind;
  params: unknown;
  state: JobState;
  /** jobs with the same queue key run one after another (one per project) */
  queueKey: string;
  progress?: JobProgress;
  result?: unknown;
  error?: SerializedError;
}

export interface JobManagerOptions {
  launcher: WorkerLauncher;
  /** environment for each new worker (read when the job starts, so a settings change applies to the next job) */
  workerEnv?: () => Record<string, string>;
  /** jobs running at once across all queues */
  maxConcurrent?: number;
  /** grace period between a cancel request and killing the worker */
  cancelGraceMs?: number;
}

export class JobManager {
  private readonly events = new EventEmitter();
  private readonly jobs = new Map<string, JobRecord>();
  private readonly workers = new Map<string, WorkerChannel>();
  private readonly waiters = new Map<string, { resolve(v: unknown): void; reject(e: SerializedError): void }[]>();
  private nextId = 1;

  constructor(private readonly options: JobManagerOptions) {}

  onEvent(listener: (e: QtuneEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  start<K extends JobKind>(kind: K, params: JobParams<K>, queueKey = 'default'): string {
    const id = `job-${this.nextId++}`;
    this.jobs.set(id, { id, kind, params, state: 'queued', queueKey });
    this.emit({ type: 'job.queued', jobId: id, kind });
    this.pump();
    return id;
  }

  /** What a job reports as it goes (ctx.emit in the worker), in order; for the backend only. */
  onJobEvent(jobId: string, listener: (event: unknown) => void): () => void {
    this.events.on(`job-event:${jobId}`, listener);
    return () => this.events.off(`job-event:${jobId}`, listener);
  }

  /** Tell every connected renderer (events that are not a job's own, e.g. a tuning's state). */
  publish(e: QtuneEvent): void {
    this.emit(e);
  }

  /** Resolves with the job's result, rejects with its error (a QtuneError: code, message, details). */
  wait<K extends JobKind>(jobId: string): Promise<JobResult<K>> {
    const job = this.jobs.get(jobId);
    if (!job) return Promise.reject(new QtuneError('job_unknown', `no job ${jobId}`));
    if (job.state === 'done') return Promise.resolve(job.result as JobResult<K>);
    if (job.state === 'failed' || job.state === 'cancelled') return Promise.reject(deserializeError(job.error!));
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(jobId) ?? [];
      list.push({ resolve: resolve as (v: unknown) => void, reject: (e: SerializedError) => reject(deserializeError(e)) });
      this.waiters.set(jobId, list);
    });
  }

  get(jobId: string): JobRecord | undefined {
    return this.jobs.get(jobId);
  }

  list(): JobRecord[] {
    return [...this.jobs.values()];
  }

  cancel(jobId: string): boolean {
    const job = this.jobs.get(jobId);
    if (!job) return false;
    if (job.state === 'queued') {
      this.finish(job, 'cancelled', undefined, serializeError(cancelledError()));
      return true;
    }
    if (job.state !== 'running') return false;
    const worker = this.workers.get(jobId);
    worker?.send({ type: 'cancel' });
    const timer = setTimeout(() => {
      if (job.state === 'running') {
        worker?.kill();
        this.finish(job, 'cancelled', undefined, serializeError(cancelledError()));
      }
    }, this.options.cancelGraceMs ?? 2000);
    timer.unref();
    return true;
  }

  /** Cancel everything (closing the app). */
  dispose(): void {
    for (const job of this.jobs.values()) {
      if (job.state === 'queued' || job.state === 'running') this.cancel(job.id);
    }
    for (const w of this.workers.values()) w.kill();
  }

  private pump(): void {
    const max = this.options.maxConcurrent ?? 2;
    const running = [...this.jobs.values()].filter((j) => j.state === 'running');
    const busyQueues = new Set(running.map((j) => j.queueKey));
    let slots = max - running.length;
    for (const job of this.jobs.values()) {
      if (slots <= 0) break;
      if (job.state !== 'queued' || busyQueues.has(job.queueKey)) continue;
      busyQueues.add(job.queueKey);
      slots--;
      this.launch(job);
    }
  }

  private launch(job: JobRecord): void {
    job.state = 'running';
    this.emit({ type: 'job.started', jobId: job.id, kind: job.kind });
    let worker: WorkerChannel;
    try {
      worker = this.options.launcher(this.options.workerEnv?.());
    } catch (err) {
      this.finish(job, 'failed', undefined, { code: 'worker_start', message: `Could not start a worker: ${(err as Error).message}` });
      return;
    }
    this.workers.set(job.id, worker);
    worker.onMessage((msg) => {
      if (job.state !== 'running') return;
      switch (msg.type) {
        case 'ready':
          worker.send({ type: 'run', jobId: job.id, kind: job.kind, params: job.params });
          break;
        case 'progress':
          job.progress = msg.progress;
          this.emit({ type: 'job.progress', jobId: job.id, progress: msg.progress });
          break;
        case 'event':
          this.events.emit(`job-event:${job.id}`, msg.event);
          break;
        case 'result':
          this.finish(job, 'done', msg.result);
          worker.kill(); // one worker per job: it has nothing left to do
          break;
        case 'error':
          this.finish(job, isCancelled(msg.error) ? 'cancelled' : 'failed', undefined, msg.error);
          worker.kill();
          break;
      }
    });
    worker.onExit((code) => {
      this.workers.delete(job.id);
      if (job.state === 'running') {
        const tail = worker.stderrTail().trim().split('\n').slice(-3).join(' | ');
        this.finish(job, 'failed', undefined, {
          code: 'worker_crashed',
          message: `The worker running this ${job.kind} job stopped unexpectedly (exit code ${code ?? 'signal'})${tail ? `: ${tail}` : ''}`,
        });
      }
      this.pump();
    });
  }

  private finish(job: JobRecord, state: JobState, result?: unknown, error?: SerializedError): void {
    if (job.state === 'done' || job.state === 'failed' || job.state === 'cancelled') return;
    job.state = state;
    job.result = result;
    job.error = error;
    if (state === 'done') this.emit({ type: 'job.done', jobId: job.id, result: result as never });
    else this.emit({ type: 'job.failed', jobId: job.id, error: error! });
    for (const w of this.waiters.get(job.id) ?? []) {
      if (state === 'done') w.resolve(result);
      else w.reject(error!);
    }
    this.waiters.delete(job.id);
    // Keep finished jobs briefly for late `wait` calls, but do not grow forever.
    const finished = [...this.jobs.values()].filter((j) => j.state !== 'queued' && j.state !== 'running');
    for (const old of finished.slice(0, Math.max(0, finished.length - 200))) this.jobs.delete(old.id);
    this.pump();
  }

  private emit(e: QtuneEvent): void {
    this.events.emit('event', e);
  }
}
