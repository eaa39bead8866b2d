// The shape of project.json (after migration) and of the `ui` block the app
// stores in it. A project folder can come from anyone: everything read from it
// is checked here before a path, an id or a number from it is used.

import Ajv from 'ajv';
import { QtuneError } from '../shared/errors';
import { WIZARD_STEPS, type ProjectFile } from '../shared/project';

const id = { type: 'integer', minimum: 1, maximum: 999999 } as const;
const idOrNull = { anyOf: [id, { type: 'null' }] } as const;
const text = { type: 'string', maxLength: 4096 } as const;
const path = { type: 'string', minLength: 1, maxLength: 4096 } as const;
const sha = { type: 'string', maxLength: 128 } as const;
const batch = { type: 'integer', minimum: 1, maximum: 4096 } as const;
const metric = { type: 'string', maxLength: 4096, pattern: '^(classification|fidelity|cosine|sqnr|mse|custom:.+)$' } as const;
const finite = { type: 'number' } as const;

export const TARGET_SCHEMA = {
  oneOf: [
    { type: 'object', additionalProperties: false, required: ['mode', 'points'], properties: { mode: { const: 'absolute' }, points: { type: 'number', minimum: 0 } } },
    { type: 'object', additionalProperties: false, required: ['mode', 'percent'], properties: { mode: { const: 'relative' }, percent: { type: 'number', minimum: 0 } } },
    {
      type: 'object', additionalProperties: false, required: ['mode', 'metric', 'threshold'],
      properties: { mode: { const: 'similarity' }, metric: { enum: ['cosine', 'sqnr', 'mse'] }, threshold: { type: 'number', minimum: -1000, maximum: 1000 } },
    },
  ],
} as const;

/** ProjectUiState: the view state the app keeps per project (flat, small). */
export const UI_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    selectedLayer: { anyOf: [{ type: 'string', maxLength: 4096 }, { type: 'null' }] },
    heatmapMetric: { type: 'string', maxLength: 128 },
    graphTransform: {
      type: 'object',
      additionalProperties: false,
      required: ['x', 'y', 'k'],
      properties: { x: finite, y: finite, k: finite },
    },
    compareRuns: { type: 'array', items: id, maxItems: 64 },
  },
} as const;

const fileRef = { type: 'object', required: ['path'], properties: { path, sha256: sha } } as const;

const PROJECT_SCHEMA = {
  type: 'object',
  required: ['schemaVersion', 'name', 'model', 'calibration', 'evaluation', 'target', 'wizard', 'ui', 'configs', 'runs'],
  properties: {
    schemaVersion: { type: 'integer' },
    name: { type: 'string', minLength: 1, maxLength: 256 },
    createdAt: text,
    updatedAt: text,
    model: fileRef,
    calibration: { ...fileRef, required: ['path', 'batchSize'], properties: { ...fileRef.properties, batchSize: batch } },
    evaluation: {
      type: 'object',
      required: ['path', 'metric', 'batchSize'],
      properties: {
        ...fileRef.properties,
        labels: fileRef,
        metric,
        batchSize: batch,
        classes: { type: 'array', items: { type: 'string', maxLength: 4096 }, maxItems: 100000 },
      },
    },
    target: TARGET_SCHEMA,
    wizard: {
      type: 'object',
      required: ['step', 'configId', 'runId'],
      properties: { step: { enum: [...WIZARD_STEPS] }, configId: idOrNull, runId: idOrNull },
    },
    // Unknown ui keys from an older or newer qtune are dropped on load, not refused.
    ui: { type: 'object' },
    configs: {
      type: 'array',
      maxItems: 100000,
      items: { type: 'object', required: ['id'], properties: { id, createdAt: text, note: text, parent: id } },
    },
    runs: {
      type: 'array',
      maxItems: 100000,
      items: {
        type: 'object',
        required: ['id', 'configId', 'status'],
        properties: {
          id,
          configId: id,
          createdAt: text,
          status: { enum: ['running', 'done', 'failed', 'cancelled'] },
          error: text,
          floatAccuracy: finite,
          quantAccuracy: finite,
          metric,
          meetsTarget: { type: 'boolean' },
          quantizedLayers: { type: 'integer', minimum: 0 },
          skippedLayers: { type: 'integer', minimum: 0 },
          analyzed: { type: 'boolean' },
          analysisError: text,
        },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false });
const validateProject = ajv.compile(PROJECT_SCHEMA);
const validateUi = ajv.compile(UI_SCHEMA);

/** Check a migrated project.json; a clear one-line error names the file and the field. */
export function checkProjectShape(project: unknown, file: string): asserts project is ProjectFile {
  if (!validateProject(project)) {
    const e = validateProject.errors?.[0];
    const at = `$${(e?.instancePath ?? '').replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.')}`;
    throw new QtuneError('project_damaged', `${file} is damaged: ${at} ${e?.message ?? 'is invalid'}; it was left unchanged`, { file, path: at });
  }
  const p = project as ProjectFile;
  for (const [list, what] of [
    [p.configs, 'config'],
    [p.runs, 'run'],
  ] as const) {
    const seen = new Set<number>();
    for (const item of list) {
      if (seen.has(item.id)) throw new QtuneError('project_damaged', `${file} is damaged: ${what} ${item.id} is listed twice; it was left unchanged`, { file });
      seen.add(item.id);
    }
  }
  // View state is a convenience: keep what is valid, drop the rest.
  if (!validateUi(p.ui)) p.ui = {};
}

/** Whether a ui patch has the shape the app writes. */
export function isValidUi(ui: unknown): boolean {
  return validateUi(ui) as boolean;
}
