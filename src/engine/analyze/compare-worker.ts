// A comparison thread of the accumulated comparison (compare-threads.ts): it
// computes the metrics of the tensors it is handed while the calling thread
// compares the rest of the same run.
import { parentPort } from 'node:worker_threads';
import { compareTask, type CompareReply, type CompareRequest } from './compare-threads';

const port = parentPort;
if (!port) throw new Error('compare-worker.ts runs as a worker thread');

port.on('message', (m: CompareRequest) => {
  let reply: CompareReply;
  try {
    reply = { id: m.id, results: m.tasks.map(compareTask) };
  } catch (e) {
    reply = { id: m.id, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
