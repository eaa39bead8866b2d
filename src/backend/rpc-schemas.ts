// Parameter schemas for every RPC method: whatever arrives over IPC or the
// WebSocket is checked here before a handler sees it.

import Ajv from 'ajv';
import type { RpcMethod } from '../shared/api';
import { JOB_KINDS } from '../shared/jobs';
import { QtuneError } from '../shared/errors';

const empty = { type: 'object', additionalProperties: false } as const;
const str = { type: 'string', minLength: 1, maxLength: 4096 } as const;

const schemas: Record<RpcMethod, object> = {
  'app.info': empty,
  'fs.list': {
    type: 'object',
    additionalProperties: false,
    properties: { dir: str, extensions: { type: 'array', items: { type: 'string', maxLength: 16 }, maxItems: 32 } },
  },
  'job.start': {
    type: 'object',
    additionalProperties: false,
    required: ['kind', 'params'],
    properties: { kind: { enum: [...JOB_KINDS] }, params: { type: 'object' } },
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
      windowBounds: { type: 'object' },
    },
  },
};

const ajv = new Ajv({ allErrors: false });
const validators = Object.fromEntries(Object.entries(schemas).map(([m, s]) => [m, ajv.compile(s)]));

export function isRpcMethod(method: unknown): method is RpcMethod {
  return typeof method === 'string' && Object.hasOwn(validators, method);
}

export function checkRpcParams(method: string, params: unknown): void {
  if (!isRpcMethod(method)) throw new QtuneError('rpc_unknown', `Unknown request "${String(method)}"`);
  const validate = validators[method];
  if (!validate(params ?? {})) {
    const e = validate.errors?.[0];
    throw new QtuneError('rpc_invalid', `Invalid parameters for ${method}: ${e?.instancePath || 'params'} ${e?.message ?? ''}`.trim());
  }
}
