// Automatic tuning: the documented loop (quantize, judge, skip sensitive
// layers, tune IFMR/ARQ parameters) run for the user. Every trial is a config
// and a run; these are the records the engine, the CLI, the backend and the UI
// share.

import type { AccuracyTarget } from './eval-types';

/**
 * Where a trial comes from: the starting config; rolling the most sensitive
 * layers back to float (binary search over the ranking); putting a rolled-back
 * layer back in int8 (prune); re-quantizing a float layer with other IFMR/ARQ
 * parameters (variant).
 */
export type TunePhase = 'start' | 'rollback' | 'prune' | 'variant';

export interface TuneBudget {
  /** evaluations of an int8 model (trials); default: no limit */
  maxTrials?: number;
  /** wall time; default: no limit */
  maxMinutes?: number;
}

/** A layer re-quantized with parameters other than the starting config's. */
export interface TunedLayer {
  layer: string;
  /** the changed fields, e.g. "max_percentile 0.999, min_percentile 0.999" */
  change: string;
}

export interface TuneTrial {
  /** 1-based, in the order they were evaluated */
  index: number;
  phase: TunePhase;
  /** what this trial changed, in one line */
  change: string;
  /** quantizable layers this trial leaves in float */
  floatLayers: string[];
  tuned: TunedLayer[];
  floatValue: number;
  /** the int8 model's metric */
  value: number;
  /** float − int8, in points */
  drop: number;
  meets: boolean;
  message: string;
  /** the trial could not be carried out (the runtime refused the model, …): value is 0 then */
  error?: string;
  durationMs: number;
  /** the trial's config.json (file form) */
  config: Record<string, unknown>;
  /** in a project: the config and the run this trial became */
  configId?: number;
  runId?: number;
}

export interface TuneRankedLayer {
  layer: string;
  /** isolated sensitivity, 0.5 + 0.5·cos of the layer quantized alone (1 = no error) */
  sensitivity: number;
}

export type TuneStatus = 'running' | 'done' | 'stopped' | 'budget' | 'failed' | 'interrupted';

/** A tuning session: its settings, every trial, the best and the verdict. trials.json holds one. */
export interface TuneSummary {
  version: 1;
  status: TuneStatus;
  target: AccuracyTarget;
  budget: TuneBudget;
  startedAt: string;
  endedAt?: string;
  /** float metric (measured once) */
  floatValue?: number;
  /** quantized layers of the starting config, most sensitive first */
  ranking?: TuneRankedLayer[];
  trials: TuneTrial[];
  /** index of the best trial so far (meets the target with the fewest float layers, then the best metric; else the best metric) */
  best: number | null;
  /** one line: the target met with which layers in float, or the documented verdict */
  verdict: string;
  /** why the search ended, when it did (in English; `stop` holds the same as fields) */
  stopReason?: string;
  stop?: TuneStop;
  error?: string;
  /** calibrations served from the cache / made, over the session */
  calibration?: { reused: number; made: number };
}

/** What a tuning job sends while it runs (besides progress). */
export type TuneEvent =
  | { type: 'tune.trial'; trial: TuneTrial; dir: string; result: unknown }
  | { type: 'tune.summary'; summary: TuneSummary };

/** Why a tuning ended, as fields the app words in the user's language (tuneStopText words them in English). */
export type TuneStop =
  | { code: 'budget_trials' | 'budget_minutes'; n: number }
  | { code: 'user' | 'start_meets' | 'no_set' | 'complete' | 'interrupted' };
