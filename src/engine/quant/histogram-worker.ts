// A folding thread of the streaming calibration (histogram-folding.ts): it
// holds the fine histograms of the tensors it was given and folds each run's
// values into them while the main thread runs the next inference.
import { parentPort } from 'node:worker_threads';
import { FoldArena } from './histogram-kernel';
import { MergedHistogram, type HistogramState } from './merged-histogram';
import type { FoldReply, FoldRequest } from './histogram-folding';

const port = parentPort;
if (!port) throw new Error('histogram-worker.ts runs as a worker thread');
const histograms = new Map<number, MergedHistogram>();
// the thread serves one calibration pass: its histograms' moments share one memory, dropped with the thread
const arena = new FoldArena();

port.on('message', (m: FoldRequest) => {
  if (m.kind === 'fold') {
    for (const item of m.items) {
      let h = histograms.get(item.id);
      if (!h) histograms.set(item.id, (h = new MergedHistogram(arena)));
      h.add(item.values, item.min, item.max);
    }
    port.postMessage({ kind: 'folded', run: m.run } satisfies FoldReply);
  } else {
    const states: { id: number; state: HistogramState }[] = [...histograms].map(([id, h]) => ({ id, state: h.state() }));
    histograms.clear();
    port.postMessage({ kind: 'histograms', states } satisfies FoldReply, states.map((s) => s.state.moments.buffer as ArrayBuffer));
  }
});
