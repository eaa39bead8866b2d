// The worker entry: runs exactly one engine job, reports progress, then exits.
// It runs under child_process.fork (plain Node) or Electron's utilityProcess;
// the two differ only in how messages travel, hidden behind `channel`.

import { setRuntimeDefaults } from '../engine/onnx';
import { createJobContext } from './job-context';
import type { JobHandler } from './jobs/handler';
import { JOB_HANDLERS } from './jobs/index';
import { QtuneError, serializeError } from '../shared/errors';
import type { FromWorker, ToWorker } from '../shared/worker-protocol';
import type { JobKind } from '../shared/jobs';

interface Channel {
  send(msg: FromWorker): void;
  onMessage(cb: (msg: ToWorker) => void): void;
}

function openChannel(): Channel {
  const parentPort = (process as unknown as { parentPort?: { postMessage(m: unknown): void; on(e: 'message', cb: (e: { data: unknown }) => void): void } }).parentPort;
  if (parentPort) {
    return {
      send: (msg) => parentPort.postMessage(msg),
      onMessage: (cb) => parentPort.on('message', (e) => cb(e.data as ToWorker)),
    };
  }
  if (process.send) {
    return {
      send: (msg) => process.send!(msg),
      onMessage: (cb) => process.on('message', (m) => cb(m as ToWorker)),
    };
  }
  throw new Error('qtune worker started without a parent channel');
}

// Threads and execution provider from the app's settings, passed in the environment by the backend.
let runtimeError: unknown;
try {
  const threads = process.env.QTUNE_THREADS;
  setRuntimeDefaults({ threads: threads ? Number(threads) : undefined, executionProvider: process.env.QTUNE_EP || undefined });
} catch (err) {
  runtimeError = err; // every job fails with it: the user sees which setting is wrong
}

const channel = openChannel();
const abort = new AbortController();
let running = false;

async function run(kind: JobKind, params: unknown): Promise<void> {
  const ctx = createJobContext(abort.signal, (progress) => channel.send({ type: 'progress', progress }), undefined, (event) => channel.send({ type: 'event', event }));
  try {
    const handler = (JOB_HANDLERS as Partial<Record<string, JobHandler<JobKind>>>)[kind];
    if (!handler) throw new QtuneError('job_unsupported', `This qtune cannot run "${kind}" jobs`);
    if (runtimeError) throw runtimeError;
    const result = await handler(params as never, ctx);
    channel.send({ type: 'result', result });
  } catch (err) {
    channel.send({ type: 'error', error: serializeError(err) });
  }
  // No exit here: a large result may still be in flight over IPC. The job
  // manager ends this process once it has received the result.
}

channel.onMessage((msg) => {
  if (msg.type === 'cancel') abort.abort();
  else if (msg.type === 'run' && !running) {
    running = true;
    void run(msg.kind, msg.params);
  }
});
channel.send({ type: 'ready' });
