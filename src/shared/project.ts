// A project: one folder `<name>.qtune/` holding everything about tuning one
// model: where the model and data are (with content hashes), every config
// tried, every run's results, and where the user was in the wizard.

import type { AccuracyTarget, MetricSpec } from './eval-types';
import type { SampleDtype, SizePolicy } from './dataset-schema';

export const PROJECT_SCHEMA_VERSION = 1;
export const PROJECT_FILE = 'project.json';

export const WIZARD_STEPS = ['project', 'config', 'quantize', 'skip', 'tune', 'finish'] as const;
export type WizardStep = (typeof WIZARD_STEPS)[number];

export interface FileRef {
  /** absolute path, or relative to the project folder */
  path: string;
  /** sha256 of the content when the project was saved (a folder: of its sorted file list and sizes) */
  sha256?: string;
}

export interface ConfigEntry {
  id: number;
  createdAt: string;
  /** what changed, in the user's words or qtune's ("skipped 3 suggested layers") */
  note: string;
  /** the config this one was derived from */
  parent?: number;
}

export interface RunSummary {
  id: number;
  configId: number;
  createdAt: string;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  error?: string;
  floatAccuracy?: number;
  quantAccuracy?: number;
  /** what floatAccuracy and quantAccuracy measure (a similarity run: cosine, SQNR in dB or MSE against the float model) */
  metric?: MetricSpec;
  meetsTarget?: boolean;
  /** layers quantized / skipped in this run */
  quantizedLayers?: number;
  skippedLayers?: number;
  analyzed?: boolean;
  /** why the last analysis of this run did not finish */
  analysisError?: string;
}

export interface ProjectUiState {
  selectedLayer?: string | null;
  heatmapMetric?: string;
  graphTransform?: { x: number; y: number; k: number };
  compareRuns?: number[];
}

export interface ProjectFile {
  schemaVersion: number;
  name: string;
  createdAt: string;
  updatedAt: string;
  model: FileRef;
  calibration: FileRef & { batchSize: number };
  evaluation: FileRef & { labels?: FileRef; metric: MetricSpec; batchSize: number; classes?: string[] };
  target: AccuracyTarget;
  wizard: { step: WizardStep; configId: number | null; runId: number | null };
  ui: ProjectUiState;
  configs: ConfigEntry[];
  runs: RunSummary[];
}

export interface ProjectInit {
  /** the folder to create the project in (the project folder is `<dir>/<name>.qtune`) */
  dir: string;
  name: string;
  model: string;
  calibration: string;
  evaluation: string;
  labels?: string;
  metric?: MetricSpec;
  target?: AccuracyTarget;
  classes?: string[];
  /** advanced data settings: the project's data is then described by manifests written into its folder */
  dataOptions?: ProjectDataOptions;
}

/** A constant model input (not data): the same value for every sample, as in a dataset manifest. */
export interface ConstantInput {
  constant: number;
  dtype?: SampleDtype;
  /** one sample's shape; default a scalar */
  shape?: number[];
}

/**
 * Settings the plain data paths cannot say: what to do with images of different sizes, and values for the
 * model inputs that are not data (a sample rate, an initial state of zeros, a mask of ones).
 */
export interface ProjectDataOptions {
  /** the model input the calibration and evaluation data feed */
  dataInput: string;
  sizes?: SizePolicy;
  constants?: Record<string, ConstantInput>;
}

/** An open project as the renderer sees it. */
export interface OpenProject {
  /** the project folder */
  dir: string;
  project: ProjectFile;
  /** things the user must know: a model or data file changed since the project was saved, … */
  warnings: ProjectWarning[];
}

/** A file the project names is missing, or its content changed since the project was saved. */
export interface ProjectWarning {
  code: 'file_missing' | 'file_changed';
  file: 'model' | 'calibration' | 'evaluation' | 'labels';
  path: string;
}

const FILE_NAMES: Record<ProjectWarning['file'], string> = { model: 'model', calibration: 'calibration data', evaluation: 'evaluation data', labels: 'labels file' };

/** The warning in English (the CLI, logs). */
export function projectWarningText(w: ProjectWarning): string {
  const what = FILE_NAMES[w.file];
  return w.code === 'file_missing'
    ? `The ${what} ${w.path} is missing.`
    : `The ${what} ${w.path} changed since the project was saved; earlier results were made with the old file.`;
}
