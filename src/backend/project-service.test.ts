// The tuning loop through the backend, as the wizard drives it: real worker
// processes, the real engine, the LeNet fixture and its MNIST splits.

import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createBackend } from './backend';
import { createMemorySettings } from './settings-store';
import { forkLauncher } from './worker-launcher';
import type { ProjectFile } from '../shared/project';
import type { QtuneEvent } from '../shared/api';

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
    const changes: ProjectFile[] = [];
    backend.onEvent((e) => {
      if (e.type === 'project.changed') changes.push(e.project);
    });
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
    // a page opened meanwhile finds the run and can follow it
    expect((await backend.call('project.jobs', { dir })).jobs).toEqual([expect.objectContaining({ jobId, kind: 'run.quantize', runId })]);
    const result = await backend.jobs.wait<'run.quantize'>(jobId);
    off();
    await new Promise((r) => setTimeout(r, 0));
    expect((await backend.call('project.jobs', { dir })).jobs).toEqual([]);
    expect(progress).toContain('calibrate');
    expect(progress).toContain('evaluate int8');
    expect(result.float.value).toBeGreaterThan(95);
    expect(Math.abs(result.float.value - result.quant.value)).toBeLessThan(3);
    expect(result.judgement.message).toContain('float');
    expect(result.flipCounts.total).toBe(result.flips.length); // LeNet flips few samples: all are kept
    expect(result.flipCounts.broke + result.flipCounts.fixed).toBeLessThanOrEqual(result.flipCounts.total);
    // The run is recorded once the job's end has been written.
    await settled(backend, dir, runId);
    // the write that recorded the run's end was announced (project.get waits for the project's writes in progress)
    await backend.call('project.get', { dir });
    expect(changes.some((p) => p.runs.some((r) => r.id === runId && r.status === 'done'))).toBe(true);
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
    // a folder that already holds files is overwritten only when the user confirmed it
    await expect(backend.call('project.export', { dir, runId: run2.runId, outDir: out })).rejects.toMatchObject({ code: 'export_exists', message: expect.stringContaining(out) });
    await expect(backend.call('project.export', { dir, runId: run2.runId, outDir: out, overwrite: true })).resolves.toMatchObject({ files });
    await backend.call('project.update', { dir, patch: { wizard: { step: 'skip' }, ui: { selectedLayer: skip } } });
    backend.dispose(); // one qtune at a time per project: the first lets go of it
    const again = createBackend({ host: 'browser', launcher: forkLauncher(), settings, version: 'test', sampleDir: '/nowhere', projectsDir: root });
    const reopened = await again.call('project.open', { dir });
    expect(reopened.project.runs.map((r) => r.status)).toEqual(['done', 'done']);
    expect(reopened.project.configs.map((c) => c.note)).toEqual(['generated', `skip ${skip}`]);
    expect(reopened.project.wizard.step).toBe('skip');
    expect(reopened.project.ui.selectedLayer).toBe(skip);
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

describe('project service against crafted projects', () => {
  const make = (root: string) => createBackend({ host: 'browser', launcher: forkLauncher(), settings: createMemorySettings(), version: 'test', sampleDir: '/nowhere', projectsDir: root, homeDir: root });
  async function lenetProject(backend: ReturnType<typeof make>, root: string, extra: { metric?: `custom:${string}` } = {}) {
    return backend.call('project.create', { dir: root, name: 'p', model: lenet, calibration: join(mnist, 'calib_x.npy'), evaluation: join(mnist, 'eval_x.npy'), labels: join(mnist, 'eval_y.npy'), ...extra });
  }
  const projectJson = (dir: string) => JSON.parse(readFileSync(join(dir, 'project.json'), 'utf8')) as Record<string, unknown>;

  it('refuses a string config id instead of writing a config outside the project', async () => {
    const root = mkdtempSync(join(tmpdir(), 'qtune-ids-'));
    const first = make(root);
    const { dir } = await lenetProject(first, root);
    first.dispose();
    const p = projectJson(dir);
    writeFileSync(join(dir, 'project.json'), JSON.stringify({ ...p, configs: [{ id: '../../x/cfg', createdAt: '', note: '' }] }));
    const backend = make(root);
    await expect(backend.call('project.open', { dir })).rejects.toMatchObject({ code: 'project_damaged', message: expect.stringContaining('$.configs[0].id') });
    await expect(backend.call('project.saveConfig', { dir, config: {}, note: 'x' })).rejects.toMatchObject({ code: 'project_damaged' });
    expect(existsSync(join(root, 'x'))).toBe(false);
    expect(readdirSync(join(dir, 'configs'))).toEqual([]);
    backend.dispose();
  });

  it('reads and exports only plain files of the run folder, whatever result.json names', async () => {
    const root = mkdtempSync(join(tmpdir(), 'qtune-artifacts-'));
    const secret = join(root, 'secret.txt');
    writeFileSync(secret, 'not for export');
    const first = make(root);
    const { dir } = await lenetProject(first, root);
    first.dispose();
    const p = projectJson(dir);
    writeFileSync(join(dir, 'project.json'), JSON.stringify({ ...p, configs: [{ id: 1, createdAt: '', note: '' }], runs: [{ id: 1, configId: 1, createdAt: '', status: 'done' }] }));
    mkdirSync(join(dir, 'runs', '001'), { recursive: true });
    const result = (artifacts: Record<string, string>) =>
      JSON.stringify({ runId: 1, configId: 1, float: { value: 1 }, quant: { value: 1 }, judgement: {}, flips: [], flipCounts: {}, layers: [], artifacts });
    const names = { quantModel: 'q.onnx', fusedFloatModel: 'f.onnx', record: 'r.txt', config: 'c.json', stats: 's.json' };
    const backend = make(root);
    const out = join(root, 'export');
    for (const bad of ['../../../secret.txt', secret, '/etc/hostname', '..', '']) {
      writeFileSync(join(dir, 'runs', '001', 'result.json'), result({ ...names, stats: bad }));
      await expect(backend.call('project.readRun', { dir, runId: 1 })).rejects.toMatchObject({ code: 'run_damaged', message: expect.stringContaining('artifacts.stats') });
      await expect(backend.call('project.export', { dir, runId: 1, outDir: out })).rejects.toMatchObject({ code: 'run_damaged' });
    }
    // A plain name that is a link to a file elsewhere is refused too.
    for (const [k, v] of Object.entries(names)) writeFileSync(join(dir, 'runs', '001', v), k);
    symlinkSync(secret, join(dir, 'runs', '001', 'link.json'));
    writeFileSync(join(dir, 'runs', '001', 'result.json'), result({ ...names, stats: 'link.json' }));
    await expect(backend.call('project.readRun', { dir, runId: 1 })).rejects.toMatchObject({ code: 'project_link' });
    await expect(backend.call('project.export', { dir, runId: 1, outDir: out })).rejects.toMatchObject({ code: 'project_link' });
    expect(existsSync(join(out, 'secret.txt')) || existsSync(join(out, 'hostname')) || existsSync(join(out, 'link.json'))).toBe(false);
    // A damaged file of the run is named, with the run_damaged code, like a damaged config.
    writeFileSync(join(dir, 'runs', '001', 'result.json'), result(names));
    mkdirSync(join(dir, 'runs', '001', 'analysis'));
    writeFileSync(join(dir, 'runs', '001', 'analysis', 'analysis.json'), '{"layers": [');
    await expect(backend.call('project.readRun', { dir, runId: 1 })).rejects.toMatchObject({ code: 'run_damaged', message: expect.stringContaining('analysis.json') });
    backend.dispose();
  });

  it('lets one qtune at a time open a project, with a clear message for the second', async () => {
    const root = mkdtempSync(join(tmpdir(), 'qtune-lock-'));
    const a = make(root);
    const { dir } = await lenetProject(a, root);
    const b = make(root);
    await expect(b.call('project.open', { dir })).rejects.toMatchObject({ code: 'project_in_use', message: expect.stringContaining('open in another qtune window') });
    await expect(b.call('project.saveConfig', { dir, config: { from: 'b' }, note: 'b' })).rejects.toMatchObject({ code: 'project_in_use' });
    const { configId } = await a.call('project.saveConfig', { dir, config: { from: 'a' }, note: 'a' });
    expect(configId).toBe(1);
    a.dispose();
    await expect(b.call('project.open', { dir })).resolves.toMatchObject({ dir });
    expect((await b.call('project.readConfig', { dir, configId: 1 })).config).toEqual({ from: 'a' });
    b.dispose();
    // A lock left by a process that is gone (kill -9) is taken over.
    writeFileSync(join(dir, '.qtune-lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), instance: 'gone' }));
    const c = make(root);
    await expect(c.call('project.open', { dir })).resolves.toMatchObject({ dir });
    c.dispose();
  });

  it('announces each write of project.json as project.changed; reads and empty patches write nothing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'qtune-changed-'));
    const backend = make(root);
    const events: Extract<QtuneEvent, { type: 'project.changed' }>[] = [];
    backend.onEvent((e) => {
      if (e.type === 'project.changed') events.push(e);
    });
    const { dir } = await lenetProject(backend, root);
    expect(events.map((e) => e.dir)).toEqual([dir]);
    await backend.call('project.update', { dir, patch: { wizard: { step: 'config' } } });
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ dir, project: { wizard: { step: 'config' } } });
    expect(events[1].project).toEqual(projectJson(dir));
    const file = join(dir, 'project.json');
    const before = { text: readFileSync(file, 'utf8'), backup: readFileSync(`${file}.bak`, 'utf8'), mtime: statSync(file).mtimeMs, backupMtime: statSync(`${file}.bak`).mtimeMs };
    for (let i = 0; i < 3; i++) {
      expect(await backend.call('project.get', { dir })).toMatchObject({ wizard: { step: 'config' } });
      await backend.call('project.update', { dir, patch: {} });
    }
    expect({ text: readFileSync(file, 'utf8'), backup: readFileSync(`${file}.bak`, 'utf8'), mtime: statSync(file).mtimeMs, backupMtime: statSync(`${file}.bak`).mtimeMs }).toEqual(before);
    expect(events).toHaveLength(2);
    const { configId } = await backend.call('project.saveConfig', { dir, config: {}, note: 'empty' });
    expect(events.at(-1)!.project.configs.map((c) => c.id)).toEqual([configId]);
    backend.dispose();
  });

  it('refuses a 20,000-level ui patch and rolls back a change whose save failed', async () => {
    const root = mkdtempSync(join(tmpdir(), 'qtune-ui-'));
    const backend = make(root);
    const { dir } = await lenetProject(backend, root);
    const deep: Record<string, unknown> = {};
    let at = deep;
    for (let i = 0; i < 20_000; i++) at = at.x = {};
    await expect(backend.callUnchecked('project.update', { dir, patch: { ui: { selectedLayer: 'a', extra: deep } } })).rejects.toMatchObject({ code: 'rpc_invalid' });
    await expect(backend.callUnchecked('project.update', { dir, patch: { ui: { heatmapMetric: deep } } })).rejects.toMatchObject({ code: 'rpc_invalid' });
    await expect(backend.call('project.update', { dir, patch: { ui: { selectedLayer: 'conv1' } } })).resolves.toMatchObject({ ui: { selectedLayer: 'conv1' } });
    // A save that fails (project.json damaged on disk meanwhile) leaves the project as it was.
    const good = readFileSync(join(dir, 'project.json'), 'utf8');
    writeFileSync(join(dir, 'project.json'), '{"damaged');
    await expect(backend.call('project.update', { dir, patch: { wizard: { step: 'finish' }, ui: { selectedLayer: 'lost' } } })).rejects.toMatchObject({ code: 'project_damaged' });
    writeFileSync(join(dir, 'project.json'), good);
    const saved = await backend.call('project.update', { dir, patch: { target: { mode: 'absolute', points: 2 } } });
    expect(saved.wizard.step).toBe('project');
    expect(saved.ui.selectedLayer).toBe('conv1');
    expect(projectJson(dir)).toMatchObject({ wizard: { step: 'project' }, ui: { selectedLayer: 'conv1' }, target: { points: 2 } });
    backend.dispose();
  });

  it('keeps a similarity target, refuses a malformed one, and hands it to a run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'qtune-simtarget-'));
    const backend = make(root);
    const { dir } = await lenetProject(backend, root);
    const target = { mode: 'similarity', metric: 'sqnr', threshold: 30 } as const;
    await expect(backend.call('project.update', { dir, patch: { target } })).resolves.toMatchObject({ target });
    expect(projectJson(dir)).toMatchObject({ target });
    await expect(backend.callUnchecked('project.update', { dir, patch: { target: { mode: 'similarity', metric: 'psnr', threshold: 30 } } })).rejects.toMatchObject({ code: 'rpc_invalid' });
    await expect(backend.callUnchecked('project.update', { dir, patch: { target: { mode: 'similarity', metric: 'cosine' } } })).rejects.toMatchObject({ code: 'rpc_invalid' });
    // the job is handed the target; the engine measures its metric (measuredMetric)
    const { configId } = await backend.call('project.saveConfig', { dir, config: {}, note: 'x' });
    const { jobId } = await backend.call('project.startRun', { dir, configId });
    expect((backend.jobs.get(jobId)?.params as { target: unknown }).target).toEqual(target);
    backend.jobs.cancel(jobId);
    backend.dispose();
  });

  it('resolves a relative custom metric module against the project folder, not the working folder', async () => {
    const root = mkdtempSync(join(tmpdir(), 'qtune-metric-'));
    const backend = make(root);
    const { dir } = await lenetProject(backend, root, { metric: 'custom:metric.mjs' });
    await backend.call('project.update', { dir, patch: { trustEvaluator: true } });
    const { configId } = await backend.call('project.saveConfig', { dir, config: {}, note: 'x' });
    const { jobId } = await backend.call('project.startRun', { dir, configId });
    expect((backend.jobs.get(jobId)?.params as { metric: string }).metric).toBe(`custom:${join(dir, 'metric.mjs')}`);
    backend.jobs.cancel(jobId);
    backend.dispose();
  });

  it('saves a project under a new name without its links or its lock', async () => {
    const root = mkdtempSync(join(tmpdir(), 'qtune-saveas-'));
    const backend = make(root);
    const { dir } = await lenetProject(backend, root);
    await backend.call('project.saveConfig', { dir, config: { a: 1 }, note: 'a' });
    symlinkSync('/etc/hostname', join(dir, 'configs', 'link.json'));
    const copy = await backend.call('project.saveAs', { dir, newDir: join(root, 'copy') });
    expect(copy.project.configs.map((c) => c.id)).toEqual([1]);
    expect(readdirSync(join(root, 'copy.qtune', 'configs'))).toEqual(['001.json']);
    backend.dispose();
  });
});
