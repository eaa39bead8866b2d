// The tuning loop through the backend, as the wizard drives it: real worker
// processes, the real engine, the LeNet fixture and its MNIST splits.

import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createBackend } from './backend';
import { createMemorySettings } from './settings-store';
import { forkLauncher } from './worker-launcher';

const lenet = resolve('test/fixtures/models/lenet_mnist.onnx');
const mnist = resolve('test/fixtures/data/mnist');

/** The run's summary is written right after its job ends; wait for that write. */
async function settled(backend: ReturnType<typeof createBackend>, dir: string, runId: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { summary } = await backend.call('project.readRun', { dir, runId });
    if (summary.status !== 'running') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`run ${runId} was not recorded`);
}

describe('project service', () => {
  it('runs the loop: config, quantize and evaluate, analyse, skip a layer, re-run, export, reopen', { timeout: 300_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'qtune-loop-'));
    const settings = createMemorySettings();
    const backend = createBackend({ host: 'browser', launcher: forkLauncher(), settings, version: 'test', sampleDir: '/nowhere', projectsDir: root });
    const opened = await backend.call('project.create', {
      dir: root,
      name: 'lenet',
      model: lenet,
      calibration: join(mnist, 'calib_x.npy'),
      evaluation: join(mnist, 'eval_x.npy'),
      labels: join(mnist, 'eval_y.npy'),
    });
    expect(settings.get().recentProjects).toEqual([opened.dir]);
    const dir = opened.dir;
    await backend.call('project.update', { dir, patch: { calibration: { batchSize: 64 }, evaluation: { batchSize: 250 } } });

    // Generate and save the initial config.
    const { jobId: cfgJob } = await backend.call('job.start', { kind: 'config.create', params: { modelPath: lenet } });
    const generated = await backend.jobs.wait<'config.create'>(cfgJob);
    const { configId } = await backend.call('project.saveConfig', { dir, config: generated.config, note: 'generated' });

    // Quantize and evaluate.
    const progress: string[] = [];
    const off = backend.onEvent((e) => {
      if (e.type === 'job.progress') progress.push(e.progress.stage);
    });
    const { jobId, runId } = await backend.call('project.startRun', { dir, configId });
    const result = await backend.jobs.wait<'run.quantize'>(jobId);
    off();
    expect(progress).toContain('calibrate');
    expect(progress).toContain('evaluate int8');
    expect(result.float.value).toBeGreaterThan(95);
    expect(Math.abs(result.float.value - result.quant.value)).toBeLessThan(3);
    expect(result.judgement.message).toContain('float');
    expect(result.flipCounts.total).toBe(result.flips.length); // LeNet flips few samples: all are kept
    expect(result.flipCounts.broke + result.flipCounts.fixed).toBeLessThanOrEqual(result.flipCounts.total);
    // The run is recorded once the job's end has been written.
    await settled(backend, dir, runId);
    const details = await backend.call('project.readRun', { dir, runId });
    expect(details.summary).toMatchObject({ status: 'done', floatAccuracy: result.float.value, quantAccuracy: result.quant.value });
    expect(details.stats).toBeTruthy();

    // Analyse the run.
    const { jobId: aJob } = await backend.call('project.analyze', { dir, runId, samples: 16 });
    const report = (await backend.jobs.wait(aJob)) as { suggestions: { layer: string }[] };
    expect(report.suggestions.length).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'runs', '001', 'analysis', 'analysis.html'))).toBe(true);

    // Skip the first suggested layer and run again.
    const skip = report.suggestions[0].layer;
    const config2 = { ...generated.config, [skip]: { ...(generated.config[skip] as object), quant_enable: false } };
    const { configId: c2 } = await backend.call('project.saveConfig', { dir, config: config2, note: `skip ${skip}`, parent: configId });
    const run2 = await backend.call('project.startRun', { dir, configId: c2 });
    const result2 = await backend.jobs.wait<'run.quantize'>(run2.jobId);
    expect(result2.layers.find((l) => l.name === skip)?.enabled).toBe(false);

    // Export and reopen.
    await settled(backend, dir, run2.runId);
    const out = join(root, 'export');
    const { files } = await backend.call('project.export', { dir, runId: run2.runId, outDir: out });
    expect(files.map((f) => f.slice(out.length + 1))).toEqual(expect.arrayContaining(['model_quant_model.onnx', 'model_config.json', 'model_record.txt']));
    expect(JSON.parse(readFileSync(join(out, 'model_config.json'), 'utf8'))[skip].quant_enable).toBe(false);
    await backend.call('project.update', { dir, patch: { wizard: { step: 'skip' }, ui: { selectedLayer: skip } } });
    const again = createBackend({ host: 'browser', launcher: forkLauncher(), settings, version: 'test', sampleDir: '/nowhere', projectsDir: root });
    const reopened = await again.call('project.open', { dir });
    expect(reopened.project.runs.map((r) => r.status)).toEqual(['done', 'done']);
    expect(reopened.project.configs.map((c) => c.note)).toEqual(['generated', `skip ${skip}`]);
    expect(reopened.project.wizard.step).toBe('skip');
    expect(reopened.project.ui.selectedLayer).toBe(skip);
    backend.dispose();
    again.dispose();
  });

  it('runs a custom evaluator only after the user trusted it in this session, never from the project file alone', { timeout: 300_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'qtune-trust-'));
    const evaluator = join(root, 'agreement.mjs');
    // A user's metric: the share of samples whose top-1 class is even (any deterministic number will do).
    writeFileSync(
      evaluator,
      `let even = 0, total = 0;
export function batch(outputs) {
  const t = Object.values(outputs)[0];
  const classes = t.dims[1];
  for (let i = 0; i < t.dims[0]; i++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (t.data[i * classes + k] > t.data[i * classes + best]) best = k;
    if (best % 2 === 0) even++;
    total++;
  }
}
export function finish() { return { value: (100 * even) / total }; }
`,
    );
    const make = () => createBackend({ host: 'browser', launcher: forkLauncher(), settings: createMemorySettings(), version: 'test', sampleDir: '/nowhere', projectsDir: root });
    const backend = make();
    const { dir } = await backend.call('project.create', {
      dir: root, name: 'custom', model: lenet, calibration: join(mnist, 'calib_x.npy'), evaluation: join(mnist, 'eval_x.npy'), metric: `custom:${evaluator}`,
    });
    const { jobId: cfgJob } = await backend.call('job.start', { kind: 'config.create', params: { modelPath: lenet } });
    const { configId } = await backend.call('project.saveConfig', { dir, config: (await backend.jobs.wait<'config.create'>(cfgJob)).config, note: 'generated' });

    const untrusted = await backend.call('project.startRun', { dir, configId });
    await expect(backend.jobs.wait(untrusted.jobId)).rejects.toMatchObject({ code: 'custom_metric_untrusted', message: expect.stringContaining(evaluator) });

    await backend.call('project.update', { dir, patch: { trustEvaluator: true } });
    const trusted = await backend.call('project.startRun', { dir, configId });
    const result = await backend.jobs.wait<'run.quantize'>(trusted.jobId);
    expect(result.float.custom?.value).toBeGreaterThan(0);
    expect(result.float.value).toBe(result.float.custom?.value);
    backend.dispose();

    // Reopened by a new session: the project file alone does not make the code run.
    const again = make();
    await again.call('project.open', { dir });
    const reopened = await again.call('project.startRun', { dir, configId });
    await expect(again.jobs.wait(reopened.jobId)).rejects.toMatchObject({ code: 'custom_metric_untrusted' });
    again.dispose();
  });
});
