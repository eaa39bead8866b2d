import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, appendFileSync, symlinkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_SCHEMA_VERSION, projectWarningText } from '../shared/project';
import { addConfig, cleanUpAfterCrash, createProject, loadProject, readConfig, saveProject, startRun } from './project-store';

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
    expect(reopened.warnings.map(projectWarningText).join(' ')).toContain(`model ${init.model} changed`);
    expect(reopened.warnings).toContainEqual({ code: 'file_changed', file: 'model', path: init.model });
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
    const { batchSize: _b, ...calibration } = old.calibration;
    writeFileSync(file, JSON.stringify({ ...old, calibration, schemaVersion: 0 }));
    const migrated = await loadProject(dir);
    expect(migrated.project).toMatchObject({ schemaVersion: PROJECT_SCHEMA_VERSION, runs: [], configs: [], wizard: { step: 'project' }, calibration: { batchSize: 32 } });
  });

  it('names a missing input file when creating', async () => {
    const { init } = scratch();
    await expect(createProject({ ...init, model: '/nowhere/m.onnx' })).rejects.toMatchObject({ message: expect.stringContaining('/nowhere/m.onnx') });
  });

  it('writes the backup whole and never through a link: a crafted project.json.bak cannot overwrite a file elsewhere', async () => {
    const { init, dir: outside } = scratch();
    const { dir, project } = await createProject(init);
    const victim = join(outside, 'bashrc');
    writeFileSync(victim, 'the user\'s own file\n');
    symlinkSync(victim, join(dir, 'project.json.bak'));
    project.name = 'demo $(id > pwned)';
    await saveProject(dir, project);
    expect(readFileSync(victim, 'utf8')).toBe('the user\'s own file\n');
    expect(lstatSync(join(dir, 'project.json.bak')).isSymbolicLink()).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'project.json.bak'), 'utf8')).name).toBe('My model');
  });

  it('does not follow a link at project.json, configs/ or runs/', async () => {
    const { init, dir: outside } = scratch();
    const { dir, project } = await createProject(init);
    const elsewhere = join(outside, 'elsewhere');
    mkdirSync(elsewhere);
    // configs/ as a link to a folder outside: no config is written there
    const configs = join(dir, 'configs');
    rmdirSync(configs);
    symlinkSync(elsewhere, configs);
    await expect(addConfig(dir, project, { version: 1 }, 'x')).rejects.toMatchObject({ code: 'project_link' });
    expect(readdirSync(elsewhere)).toEqual([]);
    // project.json itself as a link: refused when opening
    const other = join(outside, 'other.json');
    writeFileSync(other, readFileSync(join(dir, 'project.json')));
    rmSync(join(dir, 'project.json'));
    symlinkSync(other, join(dir, 'project.json'));
    await expect(loadProject(dir)).rejects.toMatchObject({ code: 'project_link', message: expect.stringContaining('symbolic link') });
    await expect(saveProject(dir, project)).rejects.toMatchObject({ code: 'project_link' });
    expect(readlinkSync(join(dir, 'project.json'))).toBe(other);
  });

  it('refuses ids that are not positive whole numbers, naming the field (a crafted id cannot build a path)', async () => {
    const { init } = scratch();
    const { dir, project } = await createProject(init);
    const file = join(dir, 'project.json');
    for (const [patch, field] of [
      [{ configs: [{ id: '../../x/cfg', createdAt: '', note: '' }] }, '$.configs[0].id'],
      [{ configs: [{ id: 0, createdAt: '', note: '' }] }, '$.configs[0].id'],
      [{ configs: [{ id: 1.5, createdAt: '', note: '' }] }, '$.configs[0].id'],
      [{ runs: [{ id: '../../../tmp/out', configId: 1, createdAt: '', status: 'done' }] }, '$.runs[0].id'],
      [{ runs: [{ id: 1, configId: -3, createdAt: '', status: 'done' }] }, '$.runs[0].configId'],
      [{ wizard: { step: 'config', configId: 'a', runId: null } }, '$.wizard.configId'],
    ] as const) {
      writeFileSync(file, JSON.stringify({ ...project, ...patch }));
      await expect(loadProject(dir), field).rejects.toMatchObject({ code: 'project_damaged', details: { path: field } });
    }
    // and the same twice is refused too
    writeFileSync(file, JSON.stringify({ ...project, configs: [{ id: 1, createdAt: '', note: '' }, { id: 1, createdAt: '', note: '' }] }));
    await expect(loadProject(dir)).rejects.toMatchObject({ code: 'project_damaged', message: expect.stringContaining('config 1 is listed twice') });
  });

  it('never overwrites a config file or run folder the project does not list (left by a crash)', async () => {
    const { init } = scratch();
    const { dir, project } = await createProject(init);
    writeFileSync(join(dir, 'configs', '001.json'), '{"left":"by a crash"}');
    mkdirSync(join(dir, 'runs', '001'));
    writeFileSync(join(dir, 'runs', '001', 'keep.txt'), 'keep');
    const id = await addConfig(dir, project, { version: 1 }, 'new');
    expect(id).toBe(2);
    expect(readFileSync(join(dir, 'configs', '001.json'), 'utf8')).toBe('{"left":"by a crash"}');
    const run = await startRun(dir, project, id);
    expect(run.id).toBe(2);
    expect(readdirSync(join(dir, 'runs', '001'))).toEqual(['keep.txt']);
  });

  it('removes temp files of interrupted saves when a project is opened', async () => {
    const { init } = scratch();
    const { dir } = await createProject(init);
    writeFileSync(join(dir, '.project.json.4242.1a2b3c4d5e6f.tmp'), '{"half":');
    writeFileSync(join(dir, 'configs', '.001.json.4242.1732870000000.tmp'), '');
    writeFileSync(join(dir, 'notes.tmp'), 'the user\'s file');
    await cleanUpAfterCrash(dir);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual(['notes.tmp']);
    expect(readdirSync(join(dir, 'configs'))).toEqual([]);
  });
});
