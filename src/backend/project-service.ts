// Open projects and the work done on them. Every change to a project goes
// through here, one at a time per project, so concurrent requests (a run that
// ends while the user edits the target) never lose each other's writes. Runs
// and analyses are jobs on the project's own queue: one job at a time per
// project, the next one waits.

import { cp, copyFile, mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { OpenProject, ProjectFile, RunSummary } from '../shared/project';
import type { ProjectPatch, RunDetails } from '../shared/api';
import type { RunResult } from '../shared/run-types';
import { QtuneError } from '../shared/errors';
import type { JobManager } from './job-manager';
import { addConfig, createProject, loadProject, readConfig, resolveRef, runDir, saveProject, startRun, configPath } from './project-store';
import { writeFileAtomic } from './atomic-file';

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

  constructor(
    private readonly jobs: JobManager,
    private readonly opts: { projectsDir: string; sampleDir: string; onOpened?: (dir: string) => void },
  ) {}

  /** Run `fn` after every earlier change to the same project finished. */
  private withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(dir) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.locks.set(dir, next);
    return next;
  }

  private async current(dir: string): Promise<ProjectFile> {
    const key = resolve(dir);
    const cached = this.open.get(key);
    if (cached) return cached;
    const { project } = await loadProject(key);
    this.open.set(key, project);
    return project;
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
    this.open.set(opened.dir, opened.project);
    this.opts.onOpened?.(opened.dir);
    return opened;
  }

  async openProject(dir: string): Promise<OpenProject> {
    // Wait for pending writes to this project (a run being recorded) before reading it.
    await (this.locks.get(resolve(dir)) ?? Promise.resolve()).catch(() => undefined);
    const opened = await loadProject(dir);
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
      return opened;
    });
  }

  update(dir: string, patch: ProjectPatch): Promise<ProjectFile> {
    return this.withLock(dir, async () => {
      const p = await this.current(dir);
      if (patch.wizard) p.wizard = { ...p.wizard, ...patch.wizard };
      if (patch.ui) p.ui = { ...p.ui, ...patch.ui };
      if (patch.target) p.target = patch.target;
      if (patch.evaluation) p.evaluation = { ...p.evaluation, ...patch.evaluation };
      if (patch.calibration) p.calibration = { ...p.calibration, ...patch.calibration };
      if (patch.trustEvaluator) this.trusted.add(`${resolve(dir)}\0${p.evaluation.metric}`);
      return saveProject(resolve(dir), p);
    });
  }

  saveConfig(dir: string, config: unknown, note: string, parent?: number): Promise<{ configId: number; project: ProjectFile }> {
    return this.withLock(dir, async () => {
      const p = await this.current(dir);
      const configId = await addConfig(resolve(dir), p, config, note, parent);
      return { configId, project: p };
    });
  }

  async readConfig(dir: string, configId: number): Promise<{ config: unknown }> {
    return { config: await readConfig(resolve(dir), configId) };
  }

  async startRun(dir: string, configId: number): Promise<{ jobId: string; runId: number }> {
    const key = resolve(dir);
    const { run, project } = await this.withLock(key, async () => {
      const project = await this.current(key);
      if (!project.configs.some((c) => c.id === configId)) throw new QtuneError('config_unknown', `The project has no config ${configId}`);
      return { run: await startRun(key, project, configId), project };
    });
    const metric = project.evaluation.metric;
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
        metric,
        trustedEvaluator: this.trusted.has(`${key}\0${metric}`),
        calibrationBatchSize: project.calibration.batchSize,
        evaluationBatchSize: project.evaluation.batchSize,
        target: project.target,
        outDir: runDir(key, run.id),
      },
      key,
    );
    const flight = `${key}\0${run.id}`;
    this.inFlight.add(flight);
    this.jobs
      .wait<'run.quantize'>(jobId)
      .then((result) => this.finishRun(key, run.id, result))
      .catch((error: { code?: string; message?: string }) =>
        this.finishRun(key, run.id, undefined, error.code === 'cancelled' ? 'cancelled' : 'failed', error.message),
      )
      .finally(() => this.inFlight.delete(flight));
    return { jobId, runId: run.id };
  }

  private finishRun(dir: string, runId: number, result?: RunResult, status: RunSummary['status'] = 'done', error?: string): Promise<void> {
    return this.withLock(dir, async () => {
      const p = await this.current(dir);
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
      return { configId, runId: run.id };
    });
  }

  async readRun(dir: string, runId: number): Promise<RunDetails> {
    const key = resolve(dir);
    const p = await this.current(key);
    const summary = p.runs.find((r) => r.id === runId);
    if (!summary) throw new QtuneError('run_unknown', `The project has no run ${runId}`);
    const folder = runDir(key, runId);
    const readJson = async (file: string) => (existsSync(file) ? JSON.parse(await readFile(file, 'utf8')) : undefined);
    const result = (await readJson(join(folder, 'result.json'))) as RunResult | undefined;
    const analysis = await readJson(join(folder, 'analysis', 'analysis.json'));
    const stats = result ? await readJson(join(folder, result.artifacts.stats)) : undefined;
    return { summary, result, analysis, stats };
  }

  async analyze(dir: string, runId: number, samples = 32): Promise<{ jobId: string }> {
    const key = resolve(dir);
    const p = await this.current(key);
    const { result } = await this.readRun(key, runId);
    if (!result) throw new QtuneError('run_unfinished', `Run ${runId} has no result to analyse yet`);
    const folder = runDir(key, runId);
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
    this.jobs
      .wait(jobId)
      .then(() =>
        this.withLock(key, async () => {
          const proj = await this.current(key);
          const run = proj.runs.find((r) => r.id === runId);
          if (run) run.analyzed = true;
          await saveProject(key, proj);
        }),
      )
      .catch(() => undefined);
    return { jobId };
  }

  async exportRun(dir: string, runId: number, outDir: string): Promise<{ files: string[] }> {
    const key = resolve(dir);
    const { result } = await this.readRun(key, runId);
    if (!result) throw new QtuneError('run_unfinished', `Run ${runId} has no result to export`);
    await mkdir(outDir, { recursive: true });
    const folder = runDir(key, runId);
    const a = result.artifacts;
    const sources = [a.quantModel, a.config, a.record, a.stats].map((name) => join(folder, name));
    const report = join(folder, 'analysis', 'analysis.html');
    if (existsSync(report)) sources.push(report);
    const files: string[] = [];
    for (const src of sources) {
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
      await cp(key, target, { recursive: true });
    });
    return this.openProject(target);
  }
}
