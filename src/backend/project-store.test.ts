import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_SCHEMA_VERSION } from '../shared/project';
import { addConfig, createProject, loadProject, readConfig, saveProject, startRun } from './project-store';

function scratch() {
  const dir = mkdtempSync(join(tmpdir(), 'qtune-project-'));
  const model = join(dir, 'model.onnx');
  const calib = join(dir, 'calib.npy');
  const evalX = join(dir, 'eval.npy');
  const labels = join(dir, 'labels.npy');
  for (const f of [model, calib, evalX, labels]) writeFileSync(f, `content of ${f}`);
  return { dir, init: { dir, name: 'My model', model, calibration: calib, evaluation: evalX, labels } };
}

describe('project store', () => {
  it('creates a <name>.qtune folder with project.json, and reopens it exactly', async () => {
    const { init } = scratch();
    const created = await createProject(init);
    expect(created.dir.endsWith('My-model.qtune')).toBe(true);
    expect(created.project.model.path).toBe(init.model);
    expect(created.project.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(created.project.evaluation.metric).toBe('classification');
    created.project.wizard.step = 'skip';
    created.project.ui.selectedLayer = 'conv1';
    await saveProject(created.dir, created.project);
    const reopened = await loadProject(created.dir);
    expect(reopened.warnings).toEqual([]);
    expect(reopened.project.wizard.step).toBe('skip');
    expect(reopened.project.ui.selectedLayer).toBe('conv1');
  });

  it('keeps every config and run, numbered', async () => {
    const { init } = scratch();
    const { dir, project } = await createProject(init);
    const c1 = await addConfig(dir, project, { version: 1 }, 'generated');
    const c2 = await addConfig(dir, project, { version: 1, batch_num: 2 }, 'more batches', c1);
    expect([c1, c2]).toEqual([1, 2]);
    expect(await readConfig(dir, 2)).toEqual({ version: 1, batch_num: 2 });
    const run = await startRun(dir, project, c2);
    expect(run.id).toBe(1);
    expect(existsSync(join(dir, 'runs', '001'))).toBe(true);
    const again = await loadProject(dir);
    expect(again.project.configs.map((c) => c.note)).toEqual(['generated', 'more batches']);
    expect(again.project.runs[0]).toMatchObject({ id: 1, configId: 2, status: 'running' });
  });

  it('says so when the model changed since the project was saved', async () => {
    const { init } = scratch();
    const { dir } = await createProject(init);
    appendFileSync(init.model, 'changed');
    const reopened = await loadProject(dir);
    expect(reopened.warnings.join(' ')).toContain(`model ${init.model} changed`);
  });

  it('refuses a damaged project.json with a clear message and never overwrites it', async () => {
    const { init } = scratch();
    const { dir, project } = await createProject(init);
    await saveProject(dir, project); // leaves a good .bak
    const file = join(dir, 'project.json');
    writeFileSync(file, '{"schemaVersion": 1, "name": "trunc');
    await expect(loadProject(dir)).rejects.toMatchObject({ code: 'project_damaged', message: expect.stringContaining('project.json.bak') });
    await expect(saveProject(dir, project)).rejects.toMatchObject({ code: 'project_damaged' });
    expect(readFileSync(file, 'utf8')).toBe('{"schemaVersion": 1, "name": "trunc');
    expect(JSON.parse(readFileSync(`${file}.bak`, 'utf8')).name).toBe('My model');
  });

  it('refuses a project from a newer qtune, and migrates an older one', async () => {
    const { init } = scratch();
    const { dir, project } = await createProject(init);
    const file = join(dir, 'project.json');
    writeFileSync(file, JSON.stringify({ ...project, schemaVersion: PROJECT_SCHEMA_VERSION + 1 }));
    await expect(loadProject(dir)).rejects.toMatchObject({ code: 'project_too_new', message: expect.stringContaining('newer qtune') });
    const { wizard: _w, ui: _u, runs: _r, configs: _c, ...old } = project;
    writeFileSync(file, JSON.stringify({ ...old, schemaVersion: 0 }));
    const migrated = await loadProject(dir);
    expect(migrated.project).toMatchObject({ schemaVersion: PROJECT_SCHEMA_VERSION, runs: [], configs: [], wizard: { step: 'project' } });
  });

  it('names a missing input file when creating', async () => {
    const { init } = scratch();
    await expect(createProject({ ...init, model: '/nowhere/m.onnx' })).rejects.toMatchObject({ message: expect.stringContaining('/nowhere/m.onnx') });
  });
});
