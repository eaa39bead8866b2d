// The contract between the renderer and the backend. The renderer knows only
// `window.qtune` (QtuneApi); in Electron the preload provides it over IPC, in
// the browser a WebSocket client does. Both carry the same RPC methods and the
// same events, so everything below the transport is shared.

import type { EncodedAnalysisReport } from './analysis-file';
import type { SerializedError } from './errors';
import type { QuantStatsFile } from './quant-types';
import type { JobKind, JobParams, JobResult } from './jobs';
import type { AppSettings } from './settings';
import type { OpenProject, ProjectFile, ProjectInit, ProjectUiState, RunSummary, WizardStep } from './project';
import type { RunResult } from './run-types';
import type { AccuracyTarget, MetricSpec } from './eval-types';
import type { TuneBudget, TuneSummary } from './tune-types';

/** What the renderer may change in project.json directly. */
export interface ProjectPatch {
  wizard?: { step?: WizardStep; configId?: number | null; runId?: number | null };
  ui?: ProjectUiState;
  target?: AccuracyTarget;
  evaluation?: { metric?: MetricSpec; batchSize?: number };
  calibration?: { batchSize?: number };
  /** the user trusts the project's custom evaluator module for this session and project */
  trustEvaluator?: boolean;
}

export interface RunDetails {
  summary: RunSummary;
  result?: RunResult;
  /** the analyzer's report for this run, once analysed, as analysis.json holds it (decodeAnalysisReport in src/shared/analysis-file.ts) */
  analysis?: EncodedAnalysisReport;
  /** per-layer activation statistics written by calibration (histograms, IFMR loss curves) */
  stats?: QuantStatsFile;
}

export interface AppInfo {
  version: string;
  host: 'electron' | 'browser';
  /** folder the file browser starts in (the server's working folder) */
  homeDir: string;
  /** folder of the bundled sample project */
  sampleDir: string;
  /** where new projects are created by default */
  projectsDir: string;
}

export interface DirEntry {
  name: string;
  path: string;
  kind: 'dir' | 'file';
  size?: number;
}

export interface DirListing {
  dir: string;
  parent: string | null;
  entries: DirEntry[];
}

/** Every RPC method: its parameters and its result. */
export interface RpcMethods {
  'app.info': { params: Record<string, never>; result: AppInfo };
  /** list a folder under the browse root; dotfiles only with showHidden */
  'fs.list': { params: { dir?: string; extensions?: string[]; showHidden?: boolean }; result: DirListing };
  /** a .json file under the browse root, parsed (a config.json picked with the in-page browser) */
  'fs.readJson': { params: { path: string }; result: { value: unknown } };
  'job.start': { params: JobStartParams; result: { jobId: string } };
  'job.cancel': { params: { jobId: string }; result: { cancelled: boolean } };
  'settings.get': { params: Record<string, never>; result: AppSettings };
  'settings.update': { params: Partial<AppSettings>; result: AppSettings };
  'project.create': { params: ProjectInit; result: OpenProject };
  'project.open': { params: { dir: string }; result: OpenProject };
  /** opens the bundled sample project, creating its folder on first use */
  'project.openSample': { params: Record<string, never>; result: OpenProject };
  'project.update': { params: { dir: string; patch: ProjectPatch }; result: ProjectFile };
  /** project.json as the backend holds it, after the project's earlier writes; never writes */
  'project.get': { params: { dir: string }; result: ProjectFile };
  'project.saveConfig': { params: { dir: string; config: unknown; note: string; parent?: number }; result: { configId: number; project: ProjectFile } };
  'project.readConfig': { params: { dir: string; configId: number }; result: { config: unknown } };
  /** quantize with a saved config and evaluate float vs int8; the run is recorded when the job ends */
  'project.startRun': { params: { dir: string; configId: number }; result: { jobId: string; runId: number } };
  'project.readRun': { params: { dir: string; runId: number }; result: RunDetails };
  /** the project's runs and analyses still queued or running, with their latest progress (a reloaded page follows them again) */
  'project.jobs': { params: { dir: string }; result: { jobs: ProjectJob[] } };
  /** run the accuracy analyzer on a finished run */
  'project.analyze': { params: { dir: string; runId: number; samples?: number }; result: { jobId: string } };
  /** copy a run's quantized model, config.json, record file and report into a folder; a folder holding files only with overwrite */
  'project.export': { params: { dir: string; runId: number; outDir: string; overwrite?: boolean }; result: { files: string[] } };
  /** copy the whole project folder to a new place and open the copy */
  'project.saveAs': { params: { dir: string; newDir: string }; result: OpenProject };
  /** tune automatically to the project's target; resume: go on with the interrupted tuning */
  'project.tuneStart': { params: { dir: string; budget: TuneBudget; resume?: boolean }; result: TuneState };
  /** stop the tuning; the trials so far and the best stay */
  'project.tuneStop': { params: { dir: string }; result: TuneState };
  /** the project's latest tuning, running or not (null: never tuned) */
  'project.tuneState': { params: { dir: string }; result: TuneState };
}

/** A job working on one of a project's runs. */
export interface ProjectJob {
  jobId: string;
  kind: 'run.quantize' | 'run.analyze';
  runId: number;
  progress?: JobProgress;
}

/** A project's latest tuning as the app shows it. */
export interface TuneState {
  tuneId: number | null;
  summary: TuneSummary | null;
  /** the tuning's job while it runs */
  jobId: string | null;
}

export type RpcMethod = keyof RpcMethods;
export type RpcParams<M extends RpcMethod> = RpcMethods[M]['params'];
export type RpcResult<M extends RpcMethod> = RpcMethods[M]['result'];

export const RPC_METHODS: readonly RpcMethod[] = [
  'app.info',
  'fs.list',
  'fs.readJson',
  'job.start',
  'job.cancel',
  'settings.get',
  'settings.update',
  'project.create',
  'project.open',
  'project.openSample',
  'project.update',
  'project.get',
  'project.saveConfig',
  'project.readConfig',
  'project.startRun',
  'project.readRun',
  'project.jobs',
  'project.analyze',
  'project.export',
  'project.saveAs',
  'project.tuneStart',
  'project.tuneStop',
  'project.tuneState',
];

export type JobStartParams = { [K in JobKind]: { kind: K; params: JobParams<K> } }[JobKind];

export interface JobProgress {
  /** what the job is doing: a short name ('calibrate', 'evaluate int8', …) the app translates */
  stage: string;
  done: number;
  total: number;
  /** calibration over several passes: which one (done/total count all of them) */
  pass?: number;
  passes?: number;
  /** seconds left, estimated from the pace so far; absent until it can be estimated */
  etaSeconds?: number;
  message?: string;
}

/** Events pushed from the backend to every connected renderer. */
export type QtuneEvent =
  | { type: 'job.queued'; jobId: string; kind: JobKind }
  | { type: 'job.started'; jobId: string; kind: JobKind }
  | { type: 'job.progress'; jobId: string; progress: JobProgress }
  | { type: 'job.done'; jobId: string; result: JobResult<JobKind> }
  | { type: 'job.failed'; jobId: string; error: SerializedError }
  /**
   * project.json was written (a run started or ended, an analysis or a tuning trial was recorded, an update, a
   * config saved): `project` is what the file now holds; `dir` is the project folder as project.open returned it
   */
  | { type: 'project.changed'; dir: string; project: ProjectFile }
  /** a project's tuning changed: a trial ended, it stopped or finished */
  | { type: 'tune.update'; dir: string; state: TuneState }
  /** the Electron File menu: the renderer carries out the action (the browser host has buttons instead) */
  | { type: 'app.menu'; action: MenuAction; path?: string };

export type MenuAction = 'new' | 'open' | 'openRecent' | 'openSample' | 'saveAs' | 'close';

/** A file dialog request; in the browser host it is answered by the in-page file browser instead. */
export interface PickFileOptions {
  title?: string;
  extensions?: string[];
  directory?: boolean;
  save?: boolean;
  defaultPath?: string;
}

export interface QtuneApi {
  readonly host: 'electron' | 'browser';
  call<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>>;
  onEvent(listener: (event: QtuneEvent) => void): () => void;
  /** Native dialog; only the Electron host has one (the browser host returns undefined). */
  pickFile?(options: PickFileOptions): Promise<string | null>;
}

/** The RPC error carried back to the caller; message is for the user. */
export class RpcError extends Error {
  constructor(public readonly error: SerializedError) {
    super(error.message);
    this.name = 'RpcError';
  }
}

// Wire format shared by the IPC and WebSocket transports.
export type WireRequest = { id: number; method: string; params: unknown };
export type WireResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: SerializedError };
export type WireMessage = ({ kind: 'response' } & WireResponse) | { kind: 'event'; event: QtuneEvent };

/** A stage as the CLI prints it: "calibrate (pass 1/2)". */
export function stageLabel(p: Pick<JobProgress, 'stage' | 'pass' | 'passes'>): string {
  return p.pass !== undefined && p.passes !== undefined && p.passes > 1 ? `${p.stage} (pass ${p.pass}/${p.passes})` : p.stage;
}
