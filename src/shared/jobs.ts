// Job kinds: long work that runs in a worker process. Each kind names its
// parameters and its result; the worker has one handler per kind.

import type { AnalysisReport } from './analysis-types';
import type { DisplayGraph } from './graph';
import type { ModelIo } from './model-io';
import type { ModelSummary, QuantizableLayer } from './model-summary';
import type { RunResult, SamplePreview } from './run-types';
import type { AccuracyTarget, MetricSpec } from './eval-types';
import type { TuneBudget, TuneSummary } from './tune-types';

/** A project's model and data, and how it is evaluated: what every trial of it needs. */
export interface ProjectTrialParams {
  modelPath: string;
  calibrationData: string;
  evaluationData: string;
  labels?: string;
  metric: MetricSpec;
  /** the user trusted this custom evaluator for the project */
  trustedEvaluator?: boolean;
  calibrationBatchSize: number;
  evaluationBatchSize: number;
  target: AccuracyTarget;
}

export interface RunQuantizeParams extends ProjectTrialParams {
  runId: number;
  configId: number;
  /** config.json to apply */
  configPath: string;
  /** the run folder: every artifact is written here */
  outDir: string;
}

/** Automatic tuning of a project: each trial is reported as a job event (TuneEvent) as it ends. */
export interface TuneRunParams extends ProjectTrialParams {
  /** the config to start from; default: the generated config */
  startConfigPath?: string;
  budget: TuneBudget;
  /** trial n writes to <workDir>/trials/NNN (the backend moves it into the project's run); scratch files go here too */
  workDir: string;
  /** an interrupted session of the same tuning: its trials are not evaluated again */
  previous?: TuneSummary;
}

export interface RunAnalyzeParams {
  floatModel: string;
  quantModel: string;
  statsPath?: string;
  data: string;
  samples: number;
  outDir: string;
}

export interface JobTypes {
  'model.io': { params: { path: string }; result: ModelIo };
  'model.summary': { params: { path: string }; result: ModelSummary };
  'model.graph': { params: { path: string }; result: DisplayGraph };
  'config.create': {
    params: { modelPath: string; batchNum?: number; activationOffset?: boolean; skipLayers?: string[] };
    /** config: the config.json content; layers: every candidate layer with its parameters */
    result: { config: Record<string, unknown>; layers: QuantizableLayer[]; fusible: string[] };
  };
  'data.preview': { params: { data: string; labels?: string; modelPath: string; indices: number[] }; result: SamplePreview[] };
  'run.quantize': { params: RunQuantizeParams; result: RunResult };
  /** result: the analyzer's report (src/shared/analysis-types.ts) */
  'run.analyze': { params: RunAnalyzeParams; result: AnalysisReport };
  'tune.run': { params: TuneRunParams; result: TuneSummary };
}

export type JobKind = keyof JobTypes;
export type JobParams<K extends JobKind> = JobTypes[K]['params'];
export type JobResult<K extends JobKind> = JobTypes[K]['result'];
export const JOB_KINDS: readonly JobKind[] = [
  'model.io',
  'model.summary',
  'model.graph',
  'config.create',
  'data.preview',
  'run.quantize',
  'run.analyze',
  'tune.run',
];

/** Jobs the renderer may start directly; run.* jobs start through project.* methods, which record their results. */
export const CLIENT_JOB_KINDS: readonly JobKind[] = ['model.io', 'model.summary', 'model.graph', 'config.create', 'data.preview'];
