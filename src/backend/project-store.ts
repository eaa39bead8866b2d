// Reads and writes project folders (`<name>.qtune/`): project.json, every
// config tried (configs/NNN.json) and every run (runs/NNN/). project.json is
// written atomically, the previous good copy is kept as project.json.bak, an
// older schema is migrated, and a damaged or newer file is refused with a
// clear message and never overwritten.

import { existsSync } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { QtuneError } from '../shared/errors';
import {
  PROJECT_FILE,
  PROJECT_SCHEMA_VERSION,
  WIZARD_STEPS,
  type FileRef,
  type OpenProject,
  type ProjectFile,
  type ProjectInit,
  type ProjectWarning,
  type RunSummary,
} from '../shared/project';
import { removeStaleTempFiles, writeFileAtomic } from './atomic-file';
import { contentHash } from './content-hash';
import { writeDataManifests } from './data-manifests';
import { checkProjectShape } from './project-schema';
import { assertNoLinks, checkId, entryExists, readProjectFile } from './safe-paths';

const pad = (n: number) => String(n).padStart(3, '0');

export function projectFolderName(name: string): string {
  const safe = name.trim().replace(/[\\/:*?"<>|]+/g, '-').replace(/\s+/g, '-') || 'project';
  return safe.endsWith('.qtune') ? safe : `${safe}.qtune`;
}

/** Resolve a path stored in the project (relative to its folder, or absolute). */
export function resolveRef(dir: string, ref: FileRef | string): string {
  const p = typeof ref === 'string' ? ref : ref.path;
  return isAbsolute(p) ? p : resolve(dir, p);
}

/** Store paths inside the project folder relatively, so a project can be moved whole. */
function storedPath(dir: string, path: string): string {
  const abs = resolve(path);
  const rel = relative(dir, abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

async function fileRef(dir: string, path: string, what: string): Promise<FileRef> {
  const abs = resolve(path);
  const sha256 = await contentHash(abs);
  if (sha256 === null) throw new QtuneError('file_not_found', `The ${what} ${abs} does not exist`, { file: abs });
  return { path: storedPath(dir, abs), sha256 };
}

export async function createProject(init: ProjectInit): Promise<OpenProject> {
  const dir = join(resolve(init.dir), projectFolderName(init.name));
  if (existsSync(join(dir, PROJECT_FILE))) {
    throw new QtuneError('project_exists', `A project already exists at ${dir}; open it instead`, { file: dir });
  }
  await mkdir(join(dir, 'configs'), { recursive: true });
  await mkdir(join(dir, 'runs'), { recursive: true });
  // advanced data settings live in manifests in the project folder, which the project then refers to
  const data = init.dataOptions ? await writeDataManifests(dir, { ...init, dataOptions: init.dataOptions }) : init;
  const now = new Date().toISOString();
  const project: ProjectFile = {
    schemaVersion: PROJECT_SCHEMA_VERSION,
    name: init.name,
    createdAt: now,
    updatedAt: now,
    model: await fileRef(dir, init.model, 'model'),
    calibration: { ...(await fileRef(dir, data.calibration, 'calibration data')), batchSize: 32 },
    evaluation: {
      ...(await fileRef(dir, data.evaluation, 'evaluation data')),
      labels: init.labels ? await fileRef(dir, init.labels, 'labels file') : undefined,
      metric: init.metric ?? (init.labels ? 'classification' : 'fidelity'),
      batchSize: 100,
      classes: init.classes,
    },
    target: init.target ?? { mode: 'absolute', points: 1 },
    wizard: { step: 'project', configId: null, runId: null },
    ui: {},
    configs: [],
    runs: [],
  };
  await saveProject(dir, project);
  return { dir, project, warnings: [] };
}

/** Bring an older project.json up to the current schema. */
function migrate(raw: Record<string, unknown>, file: string): ProjectFile {
  const version = raw.schemaVersion;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) {
    throw new QtuneError('project_damaged', `${file} has no valid schemaVersion; it is not a qtune project file or it is damaged`, { file, path: '$.schemaVersion' });
  }
  if (version > PROJECT_SCHEMA_VERSION) {
    throw new QtuneError(
      'project_too_new',
      `${file} was written by a newer qtune (project schema ${version}; this qtune reads up to ${PROJECT_SCHEMA_VERSION}). Update qtune to open it; the file was left unchanged.`,
      { file },
    );
  }
  // Schema 0 (the sample manifest era) had no wizard/ui/runs blocks.
  const p = raw as unknown as ProjectFile;
  p.wizard ??= { step: 'project', configId: null, runId: null };
  if (typeof p.wizard === 'object' && p.wizard && !WIZARD_STEPS.includes(p.wizard.step)) p.wizard.step = 'project';
  p.ui ??= {};
  // Early files left the batch sizes and the metric to their defaults.
  if (p.calibration && typeof p.calibration === 'object') p.calibration.batchSize ??= 32;
  if (p.evaluation && typeof p.evaluation === 'object') {
    p.evaluation.batchSize ??= 100;
    p.evaluation.metric ??= p.evaluation.labels ? 'classification' : 'fidelity';
  }
  p.configs ??= [];
  p.runs ??= [];
  p.target ??= { mode: 'absolute', points: 1 };
  p.schemaVersion = PROJECT_SCHEMA_VERSION;
  for (const key of ['name', 'model', 'calibration', 'evaluation'] as const) {
    if (!p[key]) throw new QtuneError('project_damaged', `${file} is missing "${key}"`, { file, path: `$.${key}` });
  }
  checkProjectShape(p, file);
  return p;
}

export async function loadProject(dirOrFile: string): Promise<OpenProject> {
  const dir = resolve(dirOrFile.endsWith(PROJECT_FILE) ? join(dirOrFile, '..') : dirOrFile);
  const file = join(dir, PROJECT_FILE);
  let text: string;
  try {
    text = (await readProjectFile(dir, file)).toString('utf8');
  } catch (err) {
    if (err instanceof QtuneError) throw err;
    throw new QtuneError('project_not_found', `No qtune project at ${dir} (${PROJECT_FILE} is missing)`, { file });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const backup = existsSync(`${file}.bak`) ? ` A previous good copy is in ${PROJECT_FILE}.bak.` : '';
    throw new QtuneError('project_damaged', `${file} is damaged (${(err as Error).message}); it was left unchanged.${backup}`, { file });
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new QtuneError('project_damaged', `${file} does not hold a project object`, { file });
  }
  const project = migrate(raw as Record<string, unknown>, file);
  const warnings: ProjectWarning[] = [];
  const check = async (ref: FileRef | undefined, file: ProjectWarning['file']) => {
    if (!ref) return;
    const abs = resolveRef(dir, ref);
    const now = await contentHash(abs);
    if (now === null) warnings.push({ code: 'file_missing', file, path: abs });
    else if (ref.sha256 && now !== ref.sha256) warnings.push({ code: 'file_changed', file, path: abs });
  };
  await check(project.model, 'model');
  await check(project.calibration, 'calibration');
  await check(project.evaluation, 'evaluation');
  await check(project.evaluation.labels, 'labels');
  return { dir, project, warnings };
}

export async function saveProject(dir: string, project: ProjectFile): Promise<ProjectFile> {
  const file = join(dir, PROJECT_FILE);
  // Keep the last good copy: if the one on disk parses, it becomes the backup.
  // Both are written whole (temp file + rename): a link planted at either name
  // is replaced, never written through, and a crash leaves no empty backup.
  if (await entryExists(file)) {
    let previous: string;
    try {
      previous = (await readProjectFile(dir, file)).toString('utf8');
      JSON.parse(previous);
    } catch (err) {
      if (err instanceof QtuneError && err.code === 'project_link') throw err;
      throw new QtuneError('project_damaged', `${file} on disk is damaged; qtune will not overwrite it. Move it aside to save again.`, { file });
    }
    await writeFileAtomic(`${file}.bak`, previous);
  }
  const updatedAt = new Date().toISOString();
  await writeFileAtomic(file, JSON.stringify({ ...project, updatedAt }, null, 2) + '\n');
  project.updatedAt = updatedAt;
  return project;
}

/** Remove what a crash can leave behind: temp files of interrupted atomic writes. */
export async function cleanUpAfterCrash(dir: string): Promise<void> {
  await removeStaleTempFiles(dir);
  for (const sub of ['configs', 'runs']) {
    const at = join(dir, sub);
    const info = await lstat(at).catch(() => null);
    if (info?.isDirectory()) await removeStaleTempFiles(at);
  }
}

export function configPath(dir: string, id: number): string {
  return join(dir, 'configs', `${pad(checkId(id, 'config id'))}.json`);
}

export function runDir(dir: string, id: number): string {
  return join(dir, 'runs', pad(checkId(id, 'run id')));
}

/** The next id above every listed one whose file or folder does not exist yet: an unlisted file is never overwritten. */
async function freshId(listed: readonly { id: number }[], pathOf: (id: number) => string): Promise<number> {
  let id = listed.reduce((max, item) => Math.max(max, item.id), 0) + 1;
  while (await entryExists(pathOf(id))) id++;
  return id;
}

/** Store a config tried (its file text as the user would see it) and list it in the project. */
export async function addConfig(dir: string, project: ProjectFile, configJson: unknown, note: string, parent?: number): Promise<number> {
  await assertNoLinks(dir, join(dir, 'configs'));
  await mkdir(join(dir, 'configs'), { recursive: true });
  const id = await freshId(project.configs, (n) => configPath(dir, n));
  await writeFileAtomic(configPath(dir, id), JSON.stringify(configJson, null, 2) + '\n');
  project.configs.push({ id, createdAt: new Date().toISOString(), note, parent });
  project.wizard.configId = id;
  await saveProject(dir, project);
  return id;
}

export async function readConfig(dir: string, id: number): Promise<unknown> {
  const file = configPath(dir, id);
  try {
    return JSON.parse((await readProjectFile(dir, file)).toString('utf8'));
  } catch (err) {
    if (err instanceof QtuneError) throw err;
    throw new QtuneError('config_unreadable', `Cannot read config ${id} of the project (${file}): ${(err as Error).message}`, { file });
  }
}

/** Reserve the next run id and its folder. */
export async function startRun(dir: string, project: ProjectFile, configId: number): Promise<RunSummary> {
  await assertNoLinks(dir, join(dir, 'runs'));
  await mkdir(join(dir, 'runs'), { recursive: true });
  const id = await freshId(project.runs, (n) => runDir(dir, n));
  await mkdir(runDir(dir, id)); // fails rather than reuse a folder that appeared meanwhile
  const run: RunSummary = { id, configId, createdAt: new Date().toISOString(), status: 'running' };
  project.runs.push(run);
  project.wizard.runId = id;
  await saveProject(dir, project);
  return run;
}
