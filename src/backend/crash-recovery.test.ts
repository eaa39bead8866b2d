// kill -9 of the worker in the middle of calibration, evaluation and analysis:
// the app stays up, the run (or its analysis) is marked failed with the
// reason, the project reopens intact, and running again works.

import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createBackend } from './backend';
import { createMemorySettings } from './settings-store';
import { forkLauncher, type WorkerLauncher } from './worker-launcher';

const lenet = resolve('test/fixtures/models/lenet_mnist.onnx');
const mnist = resolve('test/fixtures/data/mnist');

/** The real fork launcher, remembering the process id of the newest worker. */
function trackedLauncher(): { launcher: WorkerLauncher; newest(): number } {
  const base = forkLauncher();
  let pid = 0;
  return {
    launcher: () => {
      const ch = base();
      pid = ch.pid!;
      return ch;
    },
    newest: () => pid,
  };
}

describe('kill -9 of a worker', () => {
  it('fails only that run or analysis, with the reason; the project reopens intact and runs again', { timeout: 300_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'qtune-kill-worker-'));
    const workers = trackedLauncher();
    const make = () => createBackend({ host: 'browser', launcher: workers.launcher, settings: createMemorySettings(), version: 't', sampleDir: '/nowhere', projectsDir: root });
    const backend = make();
    const { dir } = await backend.call('project.create', { dir: root, name: 'k', model: lenet, calibration: join(mnist, 'calib_x.npy'), evaluation: join(mnist, 'eval_x.npy'), labels: join(mnist, 'eval_y.npy') });
    await backend.call('project.update', { dir, patch: { evaluation: { batchSize: 100 }, calibration: { batchSize: 16 } } });
    const cfg = await backend.call('job.start', { kind: 'config.create', params: { modelPath: lenet } });
    const { configId } = await backend.call('project.saveConfig', { dir, config: (await backend.jobs.wait<'config.create'>(cfg.jobId)).config, note: 'generated' });

    /** Start a job and kill its worker the first time a progress stage matches. */
    async function killDuring<T extends { jobId: string }>(begin: () => Promise<T>, stage: RegExp): Promise<T & { at: string }> {
      let at = '';
      const off = backend.onEvent((e) => {
        if (!at && e.type === 'job.progress' && stage.test(e.progress.stage)) {
          at = e.progress.stage;
          process.kill(workers.newest(), 'SIGKILL');
        }
      });
      const started = await begin();
      await expect(backend.jobs.wait(started.jobId)).rejects.toMatchObject({ code: 'worker_crashed', message: expect.stringContaining('stopped unexpectedly') });
      off();
      return { ...started, at };
    }
    /** The run's summary once `ready` says the backend has recorded what it waits for. */
    const summary = async (runId: number, ready = (s: { status: string; analyzed?: boolean; analysisError?: string }) => s.status !== 'running') => {
      for (let i = 0; i < 100; i++) {
        const { summary: s } = await backend.call('project.readRun', { dir, runId });
        if (ready(s)) return s;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`run ${runId} was not recorded`);
    };

    const calib = await killDuring(() => backend.call('project.startRun', { dir, configId }), /^calibrate/);
    expect(calib.at).toMatch(/calibrate/);
    expect(await summary(calib.runId)).toMatchObject({ status: 'failed', error: expect.stringContaining('stopped unexpectedly') });

    const evaluation = await killDuring(() => backend.call('project.startRun', { dir, configId }), /^evaluate/);
    expect(evaluation.at).toMatch(/evaluate/);
    expect(await summary(evaluation.runId)).toMatchObject({ status: 'failed', error: expect.stringContaining('stopped unexpectedly') });

    // The app is still up: a run now goes through.
    const good = await backend.call('project.startRun', { dir, configId });
    await backend.jobs.wait(good.jobId);
    expect(await summary(good.runId)).toMatchObject({ status: 'done' });

    // Analysis killed: the run stays done, the analysis says why it did not finish.
    expect((await killDuring(() => backend.call('project.analyze', { dir, runId: good.runId, samples: 8 }), /./)).at).not.toBe('');
    expect(await summary(good.runId, (s) => Boolean(s.analyzed || s.analysisError))).toMatchObject({ status: 'done', analysisError: expect.stringContaining('stopped unexpectedly') });
    backend.dispose();

    // Reopened: everything recorded is there, and analysis runs again.
    const again = make();
    const { project } = await again.call('project.open', { dir });
    expect(project.configs.map((c) => c.id)).toEqual([configId]);
    expect(project.runs.map((r) => r.status)).toEqual(['failed', 'failed', 'done']);
    const { jobId } = await again.call('project.analyze', { dir, runId: good.runId, samples: 8 });
    await again.jobs.wait(jobId);
    for (let i = 0; i < 100 && !(await again.call('project.readRun', { dir, runId: good.runId })).summary.analyzed; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await again.call('project.readRun', { dir, runId: good.runId })).summary).toMatchObject({ analyzed: true });
    again.dispose();
  });
});
