// Folding the streaming calibration's values into fine histograms, on threads
// of their own where that pays.
//
// onnxruntime-node runs a session synchronously on the main thread, and
// folding costs several nanoseconds per value: on MobileNetV2-224 as much as
// the inference itself. Folded on the main thread the two add up; on folding
// threads run r is folded while the main thread computes run r + 1. Each
// tensor belongs to one thread and its runs arrive in order, so every
// histogram is the one the main thread would have built, bin for bin.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { QtuneError } from '../../shared/errors';
import { threadEntry } from '../thread-entry';
import { FoldArena } from './histogram-kernel';
import { MergedHistogram, type HistogramState } from './merged-histogram';

export interface FoldItem {
  tensor: string;
  values: Float32Array;
  /** the values' min and max (finite) */
  min: number;
  max: number;
  /** the values' buffer is this item's alone and may move to the folding thread (it is detached here) */
  movable: boolean;
}

export interface HistogramFolder {
  /**
   * Fold one run's values. Resolves when the next run may be handed over: at
   * most one run is being folded while the caller computes the next.
   */
  fold(items: FoldItem[]): Promise<void>;
  /** Every tensor's histogram; the folder is closed afterwards. */
  finish(): Promise<Map<string, MergedHistogram>>;
  /** Stop the threads (after an error or a cancel); idempotent. */
  close(): Promise<void>;
}

/** Messages to a folding thread. */
export type FoldRequest =
  | { kind: 'fold'; run: number; items: { id: number; values: Float32Array; min: number; max: number }[] }
  | { kind: 'collect' };

/** Messages from a folding thread. */
export type FoldReply =
  | { kind: 'folded'; run: number }
  | { kind: 'histograms'; states: { id: number; state: HistogramState }[] };

/** Threads to fold on by default: the cores onnxruntime leaves, at least one, at most four. */
export function defaultFoldThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/** Values per pass below which folding stays on the main thread (starting threads costs more than it saves). */
export const THREADED_FOLD_MIN_VALUES = 1 << 24;

/** Folds on the calling thread. */
export function inThreadFolder(): HistogramFolder {
  const histograms = new Map<string, MergedHistogram>();
  const arena = new FoldArena();
  return {
    fold(items) {
      for (const it of items) {
        let h = histograms.get(it.tensor);
        if (!h) histograms.set(it.tensor, (h = new MergedHistogram(arena)));
        h.add(it.values, it.min, it.max);
      }
      return Promise.resolve();
    },
    finish: () => Promise.resolve(histograms),
    close: () => Promise.resolve(),
  };
}

/**
 * Folding threads started ahead of the pass that will use them: a thread
 * takes a fraction of a second to start (from source, over half a second),
 * which then runs on another core while the calling thread builds the
 * pass's session. Hand them to threadFolder, or close them.
 */
export interface FoldThreads {
  workers: Worker[];
  /** what went wrong with a thread before a folder took them over */
  problem(): Error | undefined;
  close(): Promise<void>;
}

/** Start `threads` folding threads (none when their entry cannot be found). */
export function startFoldThreads(threads: number): FoldThreads | undefined {
  const entry = threadEntry(import.meta.url, 'histogram-worker');
  if (!entry || threads < 1) return undefined;
  const workers = Array.from({ length: threads }, () => new Worker(entry.script, { eval: entry.eval }));
  let problem: Error | undefined;
  let closed = false;
  for (const w of workers) {
    w.on('error', (err) => void (problem ??= new QtuneError('internal', `a calibration folding thread failed: ${err.message}`)));
    w.on('exit', (code) => void (closed || (problem ??= new QtuneError('internal', `a calibration folding thread stopped (exit code ${code})`))));
  }
  return {
    workers,
    problem: () => problem,
    close: async () => {
      closed = true;
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * Folds on `threads` threads (a number to start, or threads started before),
 * each tensor on one of them (largest first onto the least loaded, by
 * `valuesPerRun`). Falls back to the calling thread when the threads' entry
 * file cannot be found.
 */
export function threadFolder(threads: number | FoldThreads, valuesPerRun: Map<string, number>): HistogramFolder {
  const wanted = Math.max(1, valuesPerRun.size);
  const started = typeof threads === 'number' ? startFoldThreads(Math.min(threads, wanted)) : threads;
  if (!started) return inThreadFolder();
  let failure: Error | undefined = started.problem();
  // a thread more than there are tensors would idle
  for (const w of started.workers.splice(wanted)) void w.terminate();
  const workers = started.workers;
  const load = workers.map(() => 0);
  const ids = new Map<string, { id: number; worker: number }>();
  for (const [tensor, n] of [...valuesPerRun].sort((a, b) => b[1] - a[1])) {
    const w = load.indexOf(Math.min(...load));
    load[w] += n;
    ids.set(tensor, { id: ids.size, worker: w });
  }

  let closed = false;
  const folded = workers.map(() => 0);
  const waiters: { ready: () => boolean; resolve: () => void; reject: (e: Error) => void }[] = [];
  const settle = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      if (failure) w.reject(failure);
      else if (w.ready()) w.resolve();
      else continue;
      waiters.splice(i, 1);
    }
  };
  const until = (ready: () => boolean) => new Promise<void>((resolve, reject) => {
    waiters.push({ ready, resolve, reject });
    settle();
  });
  let collected: Map<string, MergedHistogram> | undefined;
  const states = new Map<number, HistogramState>();
  let reported = 0;
  workers.forEach((w, i) => {
    w.on('message', (m: FoldReply) => {
      if (m.kind === 'folded') folded[i] = m.run;
      else {
        for (const s of m.states) states.set(s.id, s.state);
        reported++;
      }
      settle();
    });
    w.on('error', (err) => {
      failure ??= new QtuneError('internal', `a calibration folding thread failed: ${err.message}`);
      settle();
    });
    w.on('exit', (code) => {
      if (!closed) failure ??= new QtuneError('internal', `a calibration folding thread stopped (exit code ${code})`);
      settle();
    });
  });

  let run = 0;
  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.all(workers.map((w) => w.terminate()));
  };
  return {
    async fold(items) {
      if (failure) throw failure;
      run++;
      const batches = workers.map(() => ({ items: [] as { id: number; values: Float32Array; min: number; max: number }[], transfer: [] as ArrayBuffer[] }));
      const seen = new Set<ArrayBufferLike>();
      for (const it of items) {
        const t = ids.get(it.tensor);
        if (!t) throw new QtuneError('internal', `tensor '${it.tensor}' was not given to the folding threads`);
        const buf = it.values.buffer;
        // a buffer shared with other values (or with the caller) is copied, never detached under them
        const whole = it.movable && buf instanceof ArrayBuffer && it.values.byteOffset === 0 && it.values.byteLength === buf.byteLength && !seen.has(buf);
        seen.add(buf);
        const values = whole ? it.values : it.values.slice();
        batches[t.worker].items.push({ id: t.id, values, min: it.min, max: it.max });
        batches[t.worker].transfer.push(values.buffer as ArrayBuffer);
      }
      workers.forEach((w, i) => w.postMessage({ kind: 'fold', run, items: batches[i].items } satisfies FoldRequest, batches[i].transfer));
      const previous = run - 1;
      await until(() => folded.every((r) => r >= previous));
    },
    async finish() {
      if (collected) return collected;
      try {
        await until(() => folded.every((r) => r >= run));
        for (const w of workers) w.postMessage({ kind: 'collect' } satisfies FoldRequest);
        await until(() => reported === workers.length);
      } finally {
        await close();
      }
      collected = new Map();
      for (const [tensor, t] of ids) {
        const s = states.get(t.id);
        if (s) collected.set(tensor, MergedHistogram.fromState(s));
      }
      return collected;
    },
    close,
  };
}
