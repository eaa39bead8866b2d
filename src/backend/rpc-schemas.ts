// Parameter schemas for every RPC method: whatever arrives over IPC or the
// WebSocket is checked here before a handler sees it.

import Ajv from 'ajv';
import type { RpcMethod } from '../shared/api';
import { CLIENT_JOB_KINDS } from '../shared/jobs';
import { QtuneError } from '../shared/errors';
import { TARGET_SCHEMA, UI_SCHEMA } from './project-schema';
import { LANGUAGES } from '../shared/settings';
import { CONSTANT_SOURCE_SCHEMA, SIZES_SCHEMA } from '../shared/dataset-schema';

const empty = { type: 'object', additionalProperties: false } as const;
const str = { type: 'string', minLength: 1, maxLength: 4096 } as const;

const id = { type: 'integer', minimum: 1 } as const;
const dir = { type: 'object', additionalProperties: false, required: ['dir'], properties: { dir: str } } as const;
const target = TARGET_SCHEMA;

/** Deeper than anything the app sends; deeper input could overflow the stack where it is copied or serialised. */
export const MAX_PARAM_DEPTH = 32;

const schemas: Record<RpcMethod, object> = {
  'app.info': empty,
  'fs.list': {
    type: 'object',
    additionalProperties: false,
    properties: { dir: str, extensions: { type: 'array', items: { type: 'string', maxLength: 16 }, maxItems: 32 }, showHidden: { type: 'boolean' } },
  },
  'fs.readJson': { type: 'object', additionalProperties: false, required: ['path'], properties: { path: str } },
  'job.start': {
    type: 'object',
    additionalProperties: false,
    required: ['kind', 'params'],
    properties: { kind: { enum: [...CLIENT_JOB_KINDS] }, params: { type: 'object' } },
  },
  'job.cancel': { type: 'object', additionalProperties: false, required: ['jobId'], properties: { jobId: str } },
  'settings.get': empty,
  'settings.update': {
    type: 'object',
    additionalProperties: false,
    properties: {
      recentProjects: { type: 'array', items: str, maxItems: 10 },
      recentModels: { type: 'array', items: str, maxItems: 10 },
      theme: { enum: ['system', 'light', 'dark'] },
      language: { enum: [...LANGUAGES] },
      runtime: {
        type: 'object',
        additionalProperties: false,
        required: ['threads', 'executionProvider'],
        properties: { threads: { type: 'integer', minimum: 0, maximum: 1024 }, executionProvider: { type: 'string', pattern: '^[a-z0-9_-]{1,32}$' } },
      },
      windowBounds: {
        type: 'object',
        additionalProperties: false,
        required: ['width', 'height'],
        properties: {
          x: { type: 'integer' },
          y: { type: 'integer' },
          width: { type: 'integer', minimum: 400, maximum: 100000 },
          height: { type: 'integer', minimum: 300, maximum: 100000 },
          maximized: { type: 'boolean' },
        },
      },
    },
  },
  'project.create': {
    type: 'object',
    additionalProperties: false,
    required: ['dir', 'name', 'model', 'calibration', 'evaluation'],
    properties: {
      dir: str,
      name: { type: 'string', minLength: 1, maxLength: 128 },
      model: str,
      calibration: str,
      evaluation: str,
      labels: str,
      metric: { type: 'string', pattern: '^(classification|fidelity|cosine|sqnr|mse|custom:.+)$' },
      target,
      classes: { type: 'array', items: { type: 'string' }, maxItems: 100000 },
      dataOptions: {
        type: 'object',
        additionalProperties: false,
        required: ['dataInput'],
        properties: {
          dataInput: str,
          sizes: SIZES_SCHEMA,
          constants: { type: 'object', maxProperties: 64, additionalProperties: CONSTANT_SOURCE_SCHEMA },
        },
      },
    },
  },
  'project.open': dir,
  'project.openSample': empty,
  'project.get': dir,
  'project.update': {
    type: 'object',
    additionalProperties: false,
    required: ['dir', 'patch'],
    properties: {
      dir: str,
      patch: {
        type: 'object',
        additionalProperties: false,
        properties: {
          wizard: {
            type: 'object',
            additionalProperties: false,
            properties: {
              step: { enum: ['project', 'config', 'quantize', 'skip', 'tune', 'finish'] },
              configId: { anyOf: [id, { type: 'null' }] },
              runId: { anyOf: [id, { type: 'null' }] },
            },
          },
          ui: UI_SCHEMA,
          target,
          evaluation: {
            type: 'object',
            additionalProperties: false,
            properties: { metric: { type: 'string', pattern: '^(classification|fidelity|cosine|sqnr|mse|custom:.+)$' }, batchSize: { type: 'integer', minimum: 1, maximum: 4096 } },
          },
          calibration: { type: 'object', additionalProperties: false, properties: { batchSize: { type: 'integer', minimum: 1, maximum: 4096 } } },
          trustEvaluator: { type: 'boolean' },
        },
      },
    },
  },
  'project.saveConfig': {
    type: 'object',
    additionalProperties: false,
    required: ['dir', 'config', 'note'],
    properties: { dir: str, config: { type: 'object' }, note: { type: 'string', maxLength: 1000 }, parent: id },
  },
  'project.readConfig': { type: 'object', additionalProperties: false, required: ['dir', 'configId'], properties: { dir: str, configId: id } },
  'project.startRun': { type: 'object', additionalProperties: false, required: ['dir', 'configId'], properties: { dir: str, configId: id } },
  'project.readRun': { type: 'object', additionalProperties: false, required: ['dir', 'runId'], properties: { dir: str, runId: id } },
  'project.jobs': dir,
  'project.analyze': {
    type: 'object',
    additionalProperties: false,
    required: ['dir', 'runId'],
    properties: { dir: str, runId: id, samples: { type: 'integer', minimum: 1, maximum: 100000 } },
  },
  'project.export': { type: 'object', additionalProperties: false, required: ['dir', 'runId', 'outDir'], properties: { dir: str, runId: id, outDir: str, overwrite: { type: 'boolean' } } },
  'project.saveAs': { type: 'object', additionalProperties: false, required: ['dir', 'newDir'], properties: { dir: str, newDir: str } },
  'project.tuneStart': {
    type: 'object',
    additionalProperties: false,
    required: ['dir', 'budget'],
    properties: {
      dir: str,
      budget: {
        type: 'object',
        additionalProperties: false,
        properties: { maxTrials: { type: 'integer', minimum: 1, maximum: 10000 }, maxMinutes: { type: 'number', exclusiveMinimum: 0, maximum: 100000 } },
      },
      resume: { type: 'boolean' },
    },
  },
  'project.tuneStop': dir,
  'project.tuneState': dir,
};

const ajv = new Ajv({ allErrors: false });
const validators = Object.fromEntries(Object.entries(schemas).map(([m, s]) => [m, ajv.compile(s)]));

export function isRpcMethod(method: unknown): method is RpcMethod {
  return typeof method === 'string' && Object.hasOwn(validators, method);
}

/** How deeply `value` nests, counted without recursion (so a hostile depth cannot overflow the stack here). */
export function nestingDepth(value: unknown, stopAt = Infinity): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest > stopAt) return deepest;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

export function checkRpcParams(method: string, params: unknown): void {
  if (!isRpcMethod(method)) throw new QtuneError('rpc_unknown', `Unknown request "${String(method)}"`);
  if (nestingDepth(params, MAX_PARAM_DEPTH) > MAX_PARAM_DEPTH) {
    throw new QtuneError('rpc_invalid', `Invalid parameters for ${method}: nested more than ${MAX_PARAM_DEPTH} levels deep`);
  }
  const validate = validators[method];
  if (!validate(params ?? {})) {
    const e = validate.errors?.[0];
    throw new QtuneError('rpc_invalid', `Invalid parameters for ${method}: ${e?.instancePath || 'params'} ${e?.message ?? ''}`.trim());
  }
}
