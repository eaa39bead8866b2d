// Automatic tuning through the backend, as the app drives it: a real worker,
// the real engine, the bundled sample. Every trial becomes a config and a run;
// the state survives reopening and a crash, and resuming evaluates no trial twice.

import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TuneState } from '../shared/api';
import { createBackend } from './backend';
import { runDir } from './project-store';
import { createMemorySettings } from './settings-store';
import { forkLauncher } from './worker-launcher';

const sample = resolve('resources/sample');

function backendIn(root: string) {
  return createBackend({ host: 'browser', launcher: forkLauncher(), settings: createMemorySettings(), version: 'test', sampleDir: sample, projectsDir: root });
}

/** Resolves once the project's tuning state satisfies `until`. */
function waitTune(backend: ReturnType<typeof backendIn>, until: (s: TuneState) => boolean): Promise<TuneState> {
  return new Promise((done) => {
    const off = backend.onEvent((e) => {
      if (e.type === 'tune.update' && until(e.state)) {
        off();
        done(e.state);
      }
    });
  });
}

describe('tune service', () => {
  it('records every trial as a config and a run, and shows the same state after reopening', { timeout: 300_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'qtune-tune-svc-'));
    const backend = backendIn(root);
    const { dir } = await backend.call('project.openSample', {});
    const ended = waitTune(backend, (s) => s.jobId === null && s.summary?.status !== 'running');
    const started = await backend.call('project.tuneStart', { dir, budget: { maxTrials: 3 } });
    expect(started.summary?.status).toBe('running');
    await expect(backend.call('project.tuneStart', { dir, budget: {} })).rejects.toThrow(/being tuned already/);
    const final = await ended;
    expect(final.summary!.status).toBe('budget');
    expect(final.summary!.trials).toHaveLength(3);
    const project = await backend.call('project.update', { dir, patch: {} });
    expect(project.runs).toHaveLength(3);
    expect(project.wizard.configId).toBeNull(); // tuning does not move the wizard
    for (const t of final.summary!.trials) {
      const run = project.runs.find((r) => r.id === t.runId)!;
      expect(run).toMatchObject({ status: 'done', configId: t.configId, quantAccuracy: t.value, meetsTarget: t.meets });
      expect(existsSync(join(runDir(dir, run.id), 'model_quant_model.onnx'))).toBe(true);
      expect(project.configs.find((c) => c.id === t.configId)!.note).toContain(t.change);
      const { config } = await backend.call('project.readConfig', { dir, configId: t.configId! });
      expect(config).toEqual(t.config);
    }
    backend.dispose();

    const again = backendIn(root);
    await again.call('project.open', { dir });
    const state = await again.call('project.tuneState', { dir });
    expect(state).toEqual({ ...final, jobId: null });
    again.dispose();
  });

  it('marks a tuning a crash stopped as interrupted, and resumes it without evaluating its trials again', { timeout: 300_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'qtune-tune-crash-'));
    const backend = backendIn(root);
    const { dir } = await backend.call('project.openSample', {});
    const two = waitTune(backend, (s) => (s.summary?.trials.filter((t) => t.runId).length ?? 0) >= 2);
    await backend.call('project.tuneStart', { dir, budget: { maxTrials: 6 } });
    await two;
    backend.dispose(); // the app goes away mid-tuning

    const after = backendIn(root);
    const state = await after.call('project.tuneState', { dir });
    expect(state.summary!.status).toBe('interrupted');
    const kept = state.summary!.trials.filter((t) => t.runId);
    expect(kept.length).toBeGreaterThanOrEqual(2);
    const ended = waitTune(after, (s) => s.jobId === null && s.summary?.status !== 'running');
    const resumed = await after.call('project.tuneStart', { dir, budget: { maxTrials: kept.length + 1 }, resume: true });
    expect(resumed.tuneId).toBe(state.tuneId);
    const final = await ended;
    expect(final.summary!.trials.slice(0, kept.length)).toEqual(kept);
    expect(final.summary!.trials).toHaveLength(kept.length + 1);
    const project = await after.call('project.update', { dir, patch: {} });
    // one run per trial: none evaluated twice (a trial cut off by the crash left a run marked failed at most)
    expect(project.runs.filter((r) => r.status === 'done')).toHaveLength(kept.length + 1);
    const saved = JSON.parse(readFileSync(join(dir, 'tunes', String(state.tuneId).padStart(3, '0'), 'tune.json'), 'utf8'));
    expect(saved.status).toBe('budget');
    after.dispose();
  });
});
