// The host-agnostic backend: the RPC handler table over the job manager,
// settings and file browser. Electron main and `qtune serve` each put a
// transport in front of it; neither adds logic of its own.

import { homedir } from 'node:os';
import { resolve } from 'node:path';
import type { AppInfo, ProjectJob, QtuneEvent, RpcMethod, RpcParams, RpcResult } from '../shared/api';
import { JobManager } from './job-manager';
import { listDirectory, readJsonFile } from './file-browser';
import { checkRpcParams } from './rpc-schemas';
import type { SettingsStore } from './settings-store';
import type { WorkerLauncher } from './worker-launcher';
import { ProjectService } from './project-service';
import { TuneService } from './tune-service';
import { pushRecent, runtimeEnv } from '../shared/settings';

export interface BackendOptions {
  host: 'electron' | 'browser';
  launcher: WorkerLauncher;
  settings: SettingsStore;
  version: string;
  sampleDir: string;
  /** where new projects (and the sample project) are created by default */
  projectsDir: string;
  /** the folder the in-page file browser starts in */
  homeDir?: string;
  /** the in-page file browser lists nothing outside this folder (default: homeDir) */
  browseRoot?: string;
  maxConcurrentJobs?: number;
}

type Handlers = { [M in RpcMethod]: (params: RpcParams<M>) => Promise<RpcResult<M>> | RpcResult<M> };

export interface Backend {
  call<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>>;
  /** Like call, for untrusted input off the wire: checks the method and its parameters first. */
  callUnchecked(method: string, params: unknown): Promise<unknown>;
  onEvent(listener: (e: QtuneEvent) => void): () => void;
  readonly jobs: JobManager;
  readonly projects: ProjectService;
  dispose(): void;
}

export function createBackend(options: BackendOptions): Backend {
  const jobs = new JobManager({ launcher: options.launcher, maxConcurrent: options.maxConcurrentJobs, workerEnv: () => runtimeEnv(options.settings.get().runtime) });
  const info: AppInfo = {
    version: options.version,
    host: options.host,
    homeDir: options.homeDir ?? homedir(),
    sampleDir: options.sampleDir,
    projectsDir: options.projectsDir,
  };

  const browseRoot = options.browseRoot ?? info.homeDir;
  const projects = new ProjectService(jobs, {
    projectsDir: options.projectsDir,
    sampleDir: options.sampleDir,
    onOpened: (dir) => {
      const s = options.settings.get();
      options.settings.update({ recentProjects: pushRecent(s.recentProjects, dir) });
    },
  });

  const tunes = new TuneService(jobs, projects);

  // Which run each project job works on, so a page opened (or reloaded) while it runs can follow it again.
  const projectJobs = new Map<string, { dir: string; kind: ProjectJob['kind']; runId: number }>();
  const remember = (jobId: string, dir: string, kind: ProjectJob['kind'], runId: number) => {
    projectJobs.set(jobId, { dir: resolve(dir), kind, runId });
    jobs.wait(jobId).then(
      () => projectJobs.delete(jobId),
      () => projectJobs.delete(jobId),
    );
  };
  const jobsOf = (dir: string): ProjectJob[] =>
    [...projectJobs.entries()]
      .filter(([, j]) => j.dir === resolve(dir))
      .map(([jobId, j]) => ({ jobId, kind: j.kind, runId: j.runId, progress: jobs.get(jobId)?.progress }));

  const handlers: Handlers = {
    'app.info': () => info,
    'fs.list': (p) => listDirectory(p.dir ?? info.homeDir, { extensions: p.extensions, root: browseRoot, showHidden: p.showHidden }),
    'fs.readJson': (p) => readJsonFile(p.path, { root: browseRoot }),
    'job.start': (p) => ({ jobId: jobs.start(p.kind, p.params as never) }),
    'job.cancel': (p) => ({ cancelled: jobs.cancel(p.jobId) }),
    'settings.get': () => options.settings.get(),
    'settings.update': (p) => options.settings.update(p),
    'project.create': (p) => projects.create(p),
    'project.open': (p) => projects.openProject(p.dir),
    'project.openSample': () => projects.openSample(),
    'project.update': (p) => projects.update(p.dir, p.patch),
    'project.get': (p) => projects.read(p.dir),
    'project.saveConfig': (p) => projects.saveConfig(p.dir, p.config, p.note, p.parent),
    'project.readConfig': (p) => projects.readConfig(p.dir, p.configId),
    'project.startRun': async (p) => {
      const started = await projects.startRun(p.dir, p.configId);
      remember(started.jobId, p.dir, 'run.quantize', started.runId);
      return started;
    },
    'project.readRun': (p) => projects.readRun(p.dir, p.runId),
    'project.jobs': (p) => ({ jobs: jobsOf(p.dir) }),
    'project.analyze': async (p) => {
      const started = await projects.analyze(p.dir, p.runId, p.samples);
      remember(started.jobId, p.dir, 'run.analyze', p.runId);
      return started;
    },
    'project.export': (p) => projects.exportRun(p.dir, p.runId, p.outDir, p.overwrite),
    'project.saveAs': (p) => projects.saveAs(p.dir, p.newDir),
    'project.tuneStart': (p) => tunes.start(p.dir, p.budget, p.resume),
    'project.tuneStop': (p) => tunes.stop(p.dir),
    'project.tuneState': (p) => tunes.state(p.dir),
  };

  async function call<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>> {
    const handler = handlers[method] as (p: RpcParams<M>) => Promise<RpcResult<M>> | RpcResult<M>;
    return handler(params);
  }

  return {
    call,
    async callUnchecked(method, params) {
      checkRpcParams(method, params);
      return call(method as RpcMethod, (params ?? {}) as never);
    },
    onEvent: (l) => jobs.onEvent(l),
    jobs,
    projects,
    dispose: () => {
      jobs.dispose();
      projects.close();
    },
  };
}
