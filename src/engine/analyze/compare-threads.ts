// Comparing a run's tensors on more cores than the calling thread's.
//
// The accumulated comparison alternates two phases: inference, where
// onnxruntime keeps every core busy, and comparison, where the metrics kernel
// runs on the calling thread alone and the other cores idle. Comparison
// threads take a share of each run's tensors while the calling thread compares
// the rest; the next inference starts when all are done, so the two phases
// never compete for cores (onnxruntime's parallel kernels wait for their
// slowest thread, and lose more than a comparison thread gains when they
// share a core with one). Each tensor is compared whole on one thread by the
// same kernel, and the results come back in the caller's order: they are the
// ones the calling thread alone would have computed, bit for bit.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { QtuneError } from '../../shared/errors';
import type { TensorMetrics } from '../../shared/analysis-types';
import { getRuntimeDefaults } from '../onnx';
import { threadEntry } from '../thread-entry';
import { compareTensors, type ReluSides } from './metrics';

/** One tensor of one run: quantized side x, float side y, `count` slices of `per` values from the start. */
export interface CompareTask {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  per: number;
  count: number;
  /** a side that is a Relu's input, compared through the Relu (its output was not fetched) */
  relu?: ReluSides;
}

/** Messages to a comparison thread, and its replies. */
export type CompareRequest = { id: number; tasks: (CompareTask & { x: Float32Array; y: Float32Array })[] };
export type CompareReply = { id: number; results: TensorMetrics[][] } | { id: number; error: string };

/** Metrics of each slice of a task. */
export function compareTask(t: CompareTask): TensorMetrics[] {
  const out: TensorMetrics[] = [];
  const whole = t.count === 1 && t.per === t.x.length;
  for (let r = 0; r < t.count; r++) {
    if (whole) out.push(compareTensors(t.x, t.y, t.relu));
    else out.push(compareTensors((t.x as Float32Array).subarray(r * t.per, (r + 1) * t.per), (t.y as Float32Array).subarray(r * t.per, (r + 1) * t.per), t.relu));
  }
  return out;
}

/**
 * Comparison threads for a pass: the cores left besides the calling thread, at most 7, and within the user's
 * thread setting when there is one (who limits onnxruntime to N threads wants the analysis to keep to N cores).
 */
export function defaultCompareThreads(): number {
  const cores = getRuntimeDefaults().threads || availableParallelism();
  return Math.max(0, Math.min(7, cores - 1));
}

/** Values per run below which comparing stays on the calling thread (a thread's start costs more than it saves). */
export const THREADED_COMPARE_MIN_VALUES = 1 << 22;

/** A float32 array that owns its whole buffer: it can move to another thread without detaching anything else. */
function movable(a: ArrayLike<number>): a is Float32Array {
  return a instanceof Float32Array && a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
}

/**
 * The lane of each task: 0 for the calling thread, k for the k-th comparison thread. Tasks that read the same
 * buffer go together (a buffer moves to one thread, whole); a group moves only when each of its arrays owns its
 * whole buffer, and the groups go largest first onto the least loaded lane.
 */
export function assignLanes(tasks: readonly CompareTask[], lanes: number): number[] {
  // group the tasks by the buffers they read (union-find over task indices)
  const parent = tasks.map((_, i) => i);
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i])));
  const owner = new Map<unknown, number>();
  tasks.forEach(({ x, y }, i) => {
    for (const a of [x, y]) {
      const buffer = ArrayBuffer.isView(a) ? a.buffer : a;
      const o = owner.get(buffer);
      if (o === undefined) owner.set(buffer, i);
      else parent[root(i)] = root(o);
    }
  });
  const groups = new Map<number, { members: number[]; size: number; canMove: boolean }>();
  tasks.forEach((t, i) => {
    const r = root(i);
    const g = groups.get(r) ?? { members: [], size: 0, canMove: true };
    g.members.push(i);
    g.size += t.x.length;
    g.canMove &&= movable(t.x) && movable(t.y);
    groups.set(r, g);
  });
  const load = new Array<number>(lanes).fill(0);
  const lane = new Array<number>(tasks.length).fill(0);
  for (const g of [...groups.values()].sort((a, b) => b.size - a.size)) {
    let best = 0;
    if (g.canMove) for (let l = 1; l < lanes; l++) if (load[l] < load[best]) best = l;
    for (const i of g.members) lane[i] = best;
    load[best] += g.size;
  }
  return lane;
}

export class ComparePool {
  private failure?: Error;
  private closed = false;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: TensorMetrics[][]) => void; reject: (e: Error) => void }>();

  private constructor(private readonly workers: Worker[]) {
    for (const w of workers) {
      w.on('message', (m: CompareReply) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if ('error' in m) p.reject(new QtuneError('internal', `a comparison thread failed: ${m.error}`));
        else p.resolve(m.results);
      });
      w.on('error', (err) => this.fail(new QtuneError('internal', `a comparison thread failed: ${err.message}`)));
      w.on('exit', (code) => { if (!this.closed) this.fail(new QtuneError('internal', `a comparison thread stopped (exit code ${code})`)); });
    }
  }

  /** Start `threads` comparison threads; undefined for none, or when a build lacks their entry. */
  static start(threads: number): ComparePool | undefined {
    const entry = threadEntry(import.meta.url, 'compare-worker');
    if (!entry || threads < 1) return undefined;
    return new ComparePool(Array.from({ length: threads }, () => new Worker(entry.script, { eval: entry.eval })));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /**
   * The metrics of every task, in task order. The tasks' float32 buffers that the threads take are detached
   * here (the caller must not read them afterwards). `pause` runs between the calling thread's own tasks, so a
   * Cancel is seen there.
   */
  async compare(tasks: readonly CompareTask[], pause: () => Promise<void>): Promise<TensorMetrics[][]> {
    if (this.failure) throw this.failure;
    const lane = assignLanes(tasks, this.workers.length + 1);
    const replies = this.workers.map((w, k) => {
      const mine = tasks.map((t, i) => ({ t, i })).filter(({ i }) => lane[i] === k + 1);
      if (mine.length === 0) return Promise.resolve({ indices: [] as number[], results: [] as TensorMetrics[][] });
      const id = this.nextId++;
      const request: CompareRequest = { id, tasks: mine.map(({ t }) => ({ ...t, x: t.x as Float32Array, y: t.y as Float32Array })) };
      const done = new Promise<TensorMetrics[][]>((resolve, reject) => this.pending.set(id, { resolve, reject }));
      // each buffer once (a Relu's input and the Relu's output compared through it share one)
      const transfer = new Set(mine.flatMap(({ t }) => [(t.x as Float32Array).buffer as ArrayBuffer, (t.y as Float32Array).buffer as ArrayBuffer]));
      w.postMessage(request, [...transfer]);
      return done.then((results) => ({ indices: mine.map(({ i }) => i), results }));
    });
    // a rejected reply is awaited below; until then it must not count as unhandled
    for (const r of replies) r.catch(() => undefined);
    const out = new Array<TensorMetrics[]>(tasks.length);
    for (let i = 0; i < tasks.length; i++) {
      if (lane[i] !== 0) continue;
      await pause();
      out[i] = compareTask(tasks[i]);
    }
    for (const r of await Promise.all(replies)) r.indices.forEach((i, k) => (out[i] = r.results[k]));
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new QtuneError('cancelled', 'the comparison threads were closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
