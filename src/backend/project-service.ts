// Open projects and the work done on them. Every change to a project goes
// through here, one at a time per project, so concurrent requests (a run that
// ends while the user edits the target) never lose each other's writes. Runs
// and analyses are jobs on the project's own queue: one job at a time per
// project, the next one waits.

import { cp, copyFile, lstat, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import type { OpenProject, ProjectFile, RunSummary } from '../shared/project';
import type { ProjectPatch, RunDetails } from '../shared/api';
import type { RunResult } from '../shared/run-types';
import type { JobKind, JobResult } from '../shared/jobs';
import { isCancelled, QtuneError } from '../shared/errors';
import type { JobManager } from './job-manager';
import { addConfig, cleanUpAfterCrash, createProject, loadProject, readConfig, resolveRef, runDir, saveProject, startRun, configPath } from './project-store';
import { writeFileAtomic } from './atomic-file';
import { LOCK_FILE, ProjectLocks } from './project-lock';
import { isValidUi } from './project-schema';
import { applyProjectPatch, isEmptyPatch } from '../shared/project-patch';
import { migrateAnalysisReport } from '../shared/analysis-file';
import { parseStatsFile } from '../shared/stats-file';
import { assertNoLinks, isPlainFileName, readProjectFile } from './safe-paths';

/** The bundled sample's manifest (resources/sample/sample.json). */
interface SampleManifest {
  name: string;
  model: string;
  calibration: { input: string };
  evaluation: { input: string; labels?: string };
  classes?: string[];
  target?: { drop?: number; mode?: 'absolute' | 'relative' };
}

/** A run's summary in project.json from its result. */
function summarizeRun(run: RunSummary, result: RunResult | undefined, status: RunSummary['status'], error?: string): void {
  run.status = status;
  if (error) run.error = error;
  if (result) {
    run.floatAccuracy = result.float.value;
    run.quantAccuracy = result.quant.value;
    run.metric = result.quant.metric;
    run.meetsTarget = result.judgement.meets;
    run.quantizedLayers = result.layers.filter((l) => l.enabled).length;
    run.skippedLayers = result.layers.filter((l) => !l.enabled).length;
  }
}

export class ProjectService {
  private readonly open = new Map<string, ProjectFile>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** custom evaluators the user trusted in this session: never read from a project file */
  private readonly trusted = new Set<string>();
  /** runs started by this backend whose result is not recorded yet (`dir\0runId`) */
  private readonly inFlight = new Set<string>();
  /** the `.qtune-lock` of every project this backend opened */
  private readonly folderLocks = new ProjectLocks();

  constructor(
    private readonly jobs: JobManager,
    private readonly opts: { projectsDir: string; sampleDir: string; onOpened?: (dir: string) => void },
  ) {}

  /** Run `fn` after every earlier change to the same project finished. */
  private withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
    const key = resolve(dir);
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.locks.set(key, next);
    return next;
  }

  /**
   * Change the project in memory and save it, after earlier changes. A change
   * whose save fails is rolled back, so one bad change cannot break every
   * later save; one that succeeds is announced (project.changed).
   */
  private change<T>(dir: string, fn: (p: ProjectFile) => Promise<T>): Promise<T> {
    const key = resolve(dir);
    return this.withLock(key, async () => {
      const p = await this.current(key);
      const before = structuredClone(p);
      let out: T;
      try {
        out = await fn(p);
      } catch (err) {
        this.open.set(key, before);
        throw err;
      }
      if (JSON.stringify(p) !== JSON.stringify(before)) this.changed(key, p);
      return out;
    });
  }

  /** Tell every renderer that project.json of `dir` now holds `project` (after each successful write). */
  private changed(dir: string, project: ProjectFile): void {
    this.jobs.publish({ type: 'project.changed', dir, project: structuredClone(project) });
  }

  /** project.json as held here, once the project's earlier writes are done; reads never write. */
  read(dir: string): Promise<ProjectFile> {
    const key = resolve(dir);
    return this.withLock(key, () => this.current(key));
  }

  private async current(dir: string): Promise<ProjectFile> {
    const key = resolve(dir);
    const cached = this.open.get(key);
    if (cached) return cached;
    this.folderLocks.acquire(key);
    const { project } = await loadProject(key);
    this.open.set(key, project);
    return project;
  }

  /** Let go of every project folder (the app or the server is closing). */
  close(): void {
    this.folderLocks.releaseAll();
  }

  /** The project as this backend holds it (read only). */
  get(dir: string): Promise<ProjectFile> {
    return this.current(resolve(dir));
  }

  /** Whether the user trusted the project's custom evaluator in this session. */
  isTrusted(dir: string, metric: string): boolean {
    return this.trusted.has(`${resolve(dir)}\0${metric}`);
  }

  async create(init: Parameters<typeof createProject>[0]): Promise<OpenProject> {
    const opened = await createProject(init);
    this.folderLocks.acquire(opened.dir);
    this.open.set(opened.dir, opened.project);
    this.changed(opened.dir, opened.project);
    this.opts.onOpened?.(opened.dir);
    return opened;
  }

  async openProject(dir: string): Promise<OpenProject> {
    // Wait for pending writes to this project (a run being recorded) before reading it.
    await (this.locks.get(resolve(dir)) ?? Promise.resolve()).catch(() => undefined);
    this.folderLocks.acquire(resolve(dir));
    const opened = await loadProject(dir);
    // Only the holder of the folder's lock gets here: what a crash left is safe to remove.
    await cleanUpAfterCrash(opened.dir);
    // A run that was still going when the app stopped did not finish.
    let changed = false;
    for (const run of opened.project.runs) {
      if (run.status === 'running' && !this.inFlight.has(`${opened.dir}\0${run.id}`)) {
        run.status = 'failed';
        run.error = 'qtune stopped before this run finished';
        changed = true;
      }
    }
    if (changed) await saveProject(opened.dir, opened.project);
    this.open.set(opened.dir, opened.project);
    if (changed) this.changed(opened.dir, opened.project);
    this.opts.onOpened?.(opened.dir);
    return opened;
  }

  /** The sample project lives in the projects folder; its model and data stay in qtune's resources. */
  async openSample(): Promise<OpenProject> {
    const manifestPath = join(this.opts.sampleDir, 'sample.json');
    let manifest: SampleManifest;
    try {
      manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as SampleManifest;
    } catch (err) {
      throw new QtuneError('sample_missing', `The bundled sample project is missing or damaged (${manifestPath}): ${(err as Error).message}`, { file: manifestPath });
    }
    const dir = join(this.opts.projectsDir, 'sample.qtune');
    if (existsSync(join(dir, 'project.json'))) return this.openProject(dir);
    await mkdir(this.opts.projectsDir, { recursive: true });
    const at = (p: string) => join(this.opts.sampleDir, p);
    return this.create({
      dir: this.opts.projectsDir,
      name: 'sample',
      model: at(manifest.model),
      calibration: at(manifest.calibration.input),
      evaluation: at(manifest.evaluation.input),
      labels: manifest.evaluation.labels ? at(manifest.evaluation.labels) : undefined,
      classes: manifest.classes,
      target:
        manifest.target?.mode === 'relative'
          ? { mode: 'relative', percent: manifest.target.drop ?? 1 }
          : { mode: 'absolute', points: manifest.target?.drop ?? 1 },
    }).then(async (opened) => {
      opened.project.name = manifest.name;
      await saveProject(opened.dir, opened.project);
      this.changed(opened.dir, opened.project);
      return opened;
    });
  }

  update(dir: string, patch: ProjectPatch): Promise<ProjectFile> {
    return this.change(dir, async (p) => {
      if (patch.ui && !isValidUi({ ...p.ui, ...patch.ui })) throw new QtuneError('rpc_invalid', 'Invalid view state for the project (ui)');
      applyProjectPatch(p, patch);
      if (patch.trustEvaluator) this.trusted.add(`${resolve(dir)}\0${p.evaluation.metric}`);
      // nothing of project.json changes: nothing is written
      return isEmptyPatch(patch) ? p : saveProject(resolve(dir), p);
    });
  }

  saveConfig(dir: string, config: unknown, note: string, parent?: number): Promise<{ configId: number; project: ProjectFile }> {
    return this.change(dir, async (p) => {
      const configId = await addConfig(resolve(dir), p, config, note, parent);
      return { configId, project: p };
    });
  }

  async readConfig(dir: string, configId: number): Promise<{ config: unknown }> {
    const key = resolve(dir);
    const p = await this.current(key);
    if (!p.configs.some((c) => c.id === configId)) throw new QtuneError('config_unknown', `The project has no config ${configId}`);
    return { config: await readConfig(key, configId) };
  }

  async startRun(dir: string, configId: number): Promise<{ jobId: string; runId: number }> {
    const key = resolve(dir);
    const { run, project } = await this.change(key, async (project) => {
      if (!project.configs.some((c) => c.id === configId)) throw new QtuneError('config_unknown', `The project has no config ${configId}`);
      await assertNoLinks(key, configPath(key, configId));
      return { run: await startRun(key, project, configId), project };
    });
    const metric = project.evaluation.metric;
    const trustedEvaluator = this.trusted.has(`${key}\0${metric}`);
    const jobId = this.jobs.start(
      'run.quantize',
      {
        runId: run.id,
        configId,
        modelPath: resolveRef(key, project.model),
        configPath: configPath(key, configId),
        calibrationData: resolveRef(key, project.calibration),
        evaluationData: resolveRef(key, project.evaluation),
        labels: project.evaluation.labels ? resolveRef(key, project.evaluation.labels) : undefined,
        metric: metricInProject(key, metric),
        trustedEvaluator,
        calibrationBatchSize: project.calibration.batchSize,
        evaluationBatchSize: project.evaluation.batchSize,
        target: project.target,
        outDir: runDir(key, run.id),
      },
      key,
    );
    const flight = `${key}\0${run.id}`;
    this.inFlight.add(flight);
    void this.recordEnd<'run.quantize'>(jobId, key, (result, error) =>
      this.finishRun(key, run.id, result, error ? (isCancelled(error) ? 'cancelled' : 'failed') : 'done', error?.message),
    ).finally(() => this.inFlight.delete(flight));
    return { jobId, runId: run.id };
  }

  /**
   * When a job of the project ends, record how it ended: `record` gets its result, or the error it failed or was
   * cancelled with. Runs and analyses both end here; a record that cannot be saved is reported, never dropped silently.
   */
  private recordEnd<K extends JobKind>(jobId: string, dir: string, record: (result: JobResult<K> | undefined, error: QtuneError | undefined) => Promise<void>): Promise<void> {
    return this.jobs
      .wait<K>(jobId)
      .then(
        (result) => record(result, undefined),
        (error: unknown) => record(undefined, error instanceof QtuneError ? error : new QtuneError('internal', String((error as Error)?.message ?? error))),
      )
      .catch((err: unknown) => {
        console.error(`qtune: could not record the end of job ${jobId} in ${dir}: ${(err as Error)?.message ?? err}`);
      });
  }

  private finishRun(dir: string, runId: number, result?: RunResult, status: RunSummary['status'] = 'done', error?: string): Promise<void> {
    return this.change(dir, async (p) => {
      const run = p.runs.find((r) => r.id === runId);
      if (!run) return;
      // The result file first: a run marked done always has its result on disk.
      if (result) await writeFileAtomic(join(runDir(dir, runId), 'result.json'), JSON.stringify(result, null, 2));
      summarizeRun(run, result, status, error);
      await saveProject(dir, p);
    });
  }

  /**
   * Record work done elsewhere (a tuning trial) as a config and a finished run, its files moved
   * in from `files`; the wizard keeps pointing where it was.
   */
  recordTrial(
    dir: string,
    trial: { config: unknown; note: string; parent?: number; files: string; result?: Omit<RunResult, 'runId' | 'configId'>; error?: string },
  ): Promise<{ configId: number; runId: number }> {
    const key = resolve(dir);
    return this.withLock(key, async () => {
      const p = await this.current(key);
      const wizard = { ...p.wizard };
      const configId = await addConfig(key, p, trial.config, trial.note, trial.parent);
      const run = await startRun(key, p, configId);
      const folder = runDir(key, run.id);
      for (const name of existsSync(trial.files) ? await readdir(trial.files) : []) await rename(join(trial.files, name), join(folder, name));
      const result: RunResult | undefined = trial.result && { runId: run.id, configId, ...trial.result };
      if (result) await writeFileAtomic(join(folder, 'result.json'), JSON.stringify(result, null, 2));
      summarizeRun(run, result, result ? 'done' : 'failed', trial.error);
      p.wizard = wizard;
      await saveProject(key, p);
      this.changed(key, p);
      return { configId, runId: run.id };
    });
  }

  async readRun(dir: string, runId: number): Promise<RunDetails> {
    const key = resolve(dir);
    const p = await this.current(key);
    const summary = p.runs.find((r) => r.id === runId);
    if (!summary) throw new QtuneError('run_unknown', `The project has no run ${runId}`);
    const folder = runDir(key, runId);
    // Like readConfig: a file that cannot be read or parsed is the run's damage, named by its file.
    const readJson = async (file: string): Promise<unknown> => {
      if (!existsSync(file)) return undefined;
      try {
        return JSON.parse((await readProjectFile(key, file)).toString('utf8'));
      } catch (err) {
        if (err instanceof QtuneError) throw err;
        throw new QtuneError('run_damaged', `${file} is damaged (${(err as Error).message})`, { file });
      }
    };
    const raw = await readJson(join(folder, 'result.json'));
    const result = raw === undefined ? undefined : checkRunResult(raw, join(folder, 'result.json'));
    const analysisFile = join(folder, 'analysis', 'analysis.json');
    const rawAnalysis = await readJson(analysisFile);
    const analysis = rawAnalysis === undefined ? undefined : migrateAnalysisReport(rawAnalysis, analysisFile);
    const statsFile = result ? join(folder, result.artifacts.stats) : undefined;
    const rawStats = statsFile ? await readJson(statsFile) : undefined;
    const stats = rawStats === undefined ? undefined : parseStatsFile(rawStats, statsFile);
    return { summary, result, analysis, stats };
  }

  async analyze(dir: string, runId: number, samples = 32): Promise<{ jobId: string }> {
    const key = resolve(dir);
    const p = await this.current(key);
    const { result } = await this.readRun(key, runId);
    if (!result) throw new QtuneError('run_unfinished', `Run ${runId} has no result to analyse yet`);
    const folder = runDir(key, runId);
    await assertNoLinksBelow(key, join(folder, 'analysis'));
    const jobId = this.jobs.start(
      'run.analyze',
      {
        floatModel: join(folder, result.artifacts.fusedFloatModel),
        quantModel: join(folder, result.artifacts.quantModel),
        statsPath: join(folder, result.artifacts.stats),
        data: resolveRef(key, p.evaluation),
        samples,
        outDir: join(folder, 'analysis'),
      },
      key,
    );
    void this.recordEnd<'run.analyze'>(jobId, key, (_result, error) =>
      this.change(key, async (proj) => {
        const run = proj.runs.find((r) => r.id === runId);
        if (!run) return;
        // A failed or cancelled analysis leaves the run as it was, with the reason beside it.
        if (error) run.analysisError = error.message;
        else {
          run.analyzed = true;
          delete run.analysisError;
        }
        await saveProject(key, proj);
      }),
    );
    return { jobId };
  }

  async exportRun(dir: string, runId: number, outDir: string, overwrite = false): Promise<{ files: string[] }> {
    const key = resolve(dir);
    const { result } = await this.readRun(key, runId);
    if (!result) throw new QtuneError('run_unfinished', `Run ${runId} has no result to export`);
    // an earlier export (or anything else) in the folder is replaced only when the user said so
    const existing = await readdir(outDir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
    if (existing.length > 0 && !overwrite) {
      throw new QtuneError('export_exists', `${outDir} already holds ${existing.length} file${existing.length > 1 ? 's' : ''}; confirm to overwrite them, or choose another folder`, { file: outDir });
    }
    await mkdir(outDir, { recursive: true });
    const folder = runDir(key, runId);
    const a = result.artifacts;
    const sources = [a.quantModel, a.config, a.record, a.stats].map((name) => join(folder, name));
    const report = join(folder, 'analysis', 'analysis.html');
    if (existsSync(report)) sources.push(report);
    const files: string[] = [];
    for (const src of sources) {
      // Only plain files of the run itself leave the project.
      await assertNoLinks(key, src);
      const dest = join(outDir, basename(src));
      await copyFile(src, dest);
      files.push(dest);
    }
    await writeFile(join(outDir, 'run.json'), JSON.stringify({ runId, float: result.float.value, int8: result.quant.value, judgement: result.judgement }, null, 2));
    files.push(join(outDir, 'run.json'));
    return { files };
  }

  async saveAs(dir: string, newDir: string): Promise<OpenProject> {
    const key = resolve(dir);
    const target = resolve(newDir.endsWith('.qtune') ? newDir : `${newDir}.qtune`);
    if (existsSync(target)) throw new QtuneError('project_exists', `${target} already exists; choose another folder`, { file: target });
    await this.withLock(key, async () => {
      // Links, the folder lock and crash leftovers stay behind.
      await cp(key, target, {
        recursive: true,
        verbatimSymlinks: true,
        filter: async (src) => src === key || (basename(src) !== LOCK_FILE && !(await lstat(src)).isSymbolicLink()),
      });
    });
    return this.openProject(target);
  }
}

/** A relative custom metric module is the project's own file: resolve it against the project folder, never the working directory. */
function metricInProject(dir: string, metric: ProjectFile['evaluation']['metric']): ProjectFile['evaluation']['metric'] {
  if (!metric.startsWith('custom:')) return metric;
  const file = metric.slice('custom:'.length);
  return isAbsolute(file) ? metric : `custom:${resolve(dir, file)}`;
}

/** Check what a run folder's result.json says before any of it is used: artifacts are plain file names in the run folder. */
function checkRunResult(raw: unknown, file: string): RunResult {
  const r = raw as Partial<RunResult> | null;
  const bad = (what: string) => new QtuneError('run_damaged', `${file} is damaged: ${what}`, { file });
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw bad('it does not hold a run result');
  if (typeof r.float?.value !== 'number' || typeof r.quant?.value !== 'number') throw bad('float.value and quant.value must be numbers');
  if (!r.judgement || typeof r.judgement !== 'object') throw bad('judgement is missing');
  if (!Array.isArray(r.layers)) throw bad('layers must be a list');
  const a = r.artifacts as unknown as Record<string, unknown> | undefined;
  if (!a || typeof a !== 'object') throw bad('artifacts is missing');
  for (const key of ['quantModel', 'fusedFloatModel', 'record', 'config', 'stats']) {
    if (!isPlainFileName(a[key])) throw bad(`artifacts.${key} must be a file name inside the run folder, not ${JSON.stringify(a[key])}`);
  }
  return r as RunResult;
}

/** Refuse a folder that holds a link anywhere below it (the analysis is written there). */
async function assertNoLinksBelow(dir: string, folder: string): Promise<void> {
  await assertNoLinks(dir, folder);
  const entries = await readdir(folder, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const e of entries) {
    if (e.isSymbolicLink()) await assertNoLinks(dir, join(e.parentPath, e.name));
  }
}
