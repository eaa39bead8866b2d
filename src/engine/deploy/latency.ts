// Latency of a model as the runtime runs it (graph optimisations on), and of
// the float model beside it. The two are measured interleaved (one inference
// of each in turn), so a noisy machine slows both alike and the ratio holds.
import { cpus } from 'node:os';
import { QtuneError, throwIfAborted } from '../../shared/errors';
import { machineText, type LatencyComparison, type LatencyStats, type MachineInfo, type ModelLatency } from '../../shared/deploy-types';
import { seededRandom } from '../../shared/seeded-random';
import { createSession, inputSpecs, ort } from '../onnx';

export interface LatencyOptions {
  /** batch sizes to measure (a model with a fixed batch dimension is measured at that size only) */
  batchSizes: number[];
  warmup?: number;
  repetitions?: number;
  /** ORT intra-op threads; 0 or undefined: ORT's default */
  threads?: number;
  /** input data for one batch of a given size (default: seeded random values) */
  feedsFor?: (batchSize: number, inputs: readonly InputInfo[]) => Promise<Record<string, ort.Tensor>> | Record<string, ort.Tensor>;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface InputInfo {
  name: string;
  type: string;
  dims: (number | string)[];
}

export const DEFAULT_WARMUP = 3;
export const DEFAULT_REPETITIONS = 10;

/** Median and 90th percentile (nearest rank) of times in ms. */
export function latencyStats(batchSize: number, warmup: number, timesMs: readonly number[]): LatencyStats {
  const s = [...timesMs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { batchSize, warmup, repetitions: s.length, medianMs: median, p90Ms: at(0.9), throughput: median > 0 ? (1000 * batchSize) / median : 0 };
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  const cpu = c[0]?.model.trim();
  return { runtime: `onnxruntime-node ${ort.env.versions.common}`, cores: c.length, ...(cpu ? { cpu } : {}) };
}

function inputsOf(session: ort.InferenceSession): InputInfo[] {
  return inputSpecs(session).map((s) => {
    if (s.type === 'non-tensor') throw new QtuneError('benchmark_invalid', `input '${s.name}' is not a tensor; only tensor inputs can be benchmarked`);
    return { name: s.name, type: s.type, dims: [...s.dims] };
  });
}

/** The batch sizes a model accepts from `wanted`: all of them, or only its fixed batch dimension. */
function usableBatchSizes(inputs: readonly InputInfo[], wanted: readonly number[]): number[] {
  const fixed = inputs.map((i) => i.dims[0]).find((d) => typeof d === 'number' && d > 0) as number | undefined;
  return fixed ? [fixed] : [...new Set(wanted)];
}

function randomFeeds(batchSize: number, inputs: readonly InputInfo[]): Record<string, ort.Tensor> {
  const rand = seededRandom(12345);
  const feeds: Record<string, ort.Tensor> = {};
  for (const inp of inputs) {
    const dims = inp.dims.map((d, i) => {
      if (i === 0 && (typeof d !== 'number' || d < 0)) return batchSize;
      if (typeof d !== 'number' || d < 0) {
        throw new QtuneError('benchmark_invalid', `input '${inp.name}' has a dynamic dimension '${d}' (axis ${i}); give data (--data) so its shape is known`, { path: inp.name });
      }
      return d;
    });
    const n = dims.reduce((a, b) => a * b, 1);
    if (inp.type === 'float32') feeds[inp.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, () => rand() * 2 - 1), dims);
    else if (inp.type === 'uint8') feeds[inp.name] = new ort.Tensor('uint8', Uint8Array.from({ length: n }, () => Math.floor(rand() * 256)), dims);
    else if (inp.type === 'int64') feeds[inp.name] = new ort.Tensor('int64', new BigInt64Array(n), dims);
    else if (inp.type === 'int32') feeds[inp.name] = new ort.Tensor('int32', new Int32Array(n), dims);
    else throw new QtuneError('benchmark_invalid', `input '${inp.name}' is ${inp.type}; give data (--data) to benchmark it`, { path: inp.name });
  }
  return feeds;
}

interface Timed {
  label: string;
  session: ort.InferenceSession;
  inputs: InputInfo[];
}

function open(path: string | Uint8Array, threads: number | undefined): Promise<ort.InferenceSession> {
  return createSession(path, { forComparison: false, intraOpNumThreads: threads });
}

/**
 * Latency of several models side by side at each batch size: `warmup` untimed
 * runs, then `repetitions` timed ones, one inference of each model in turn.
 */
export async function measureInterleaved(paths: readonly string[], opts: LatencyOptions): Promise<ModelLatency[]> {
  const warmup = opts.warmup ?? DEFAULT_WARMUP;
  const repetitions = opts.repetitions ?? DEFAULT_REPETITIONS;
  if (!(Number.isInteger(repetitions) && repetitions >= 1)) throw new QtuneError('benchmark_invalid', `repetitions must be a positive integer, got ${repetitions}`);
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new QtuneError('benchmark_invalid', `warm-up must be a non-negative integer, got ${warmup}`);
  const timed: Timed[] = [];
  try {
    for (const path of paths) {
      const session = await open(path, opts.threads);
      timed.push({ label: path, session, inputs: inputsOf(session) });
    }
    const sizes = usableBatchSizes(timed[0].inputs, opts.batchSizes);
    const times = timed.map(() => new Map<number, number[]>());
    const total = sizes.length * (warmup + repetitions) * timed.length;
    let done = 0;
    for (const bs of sizes) {
      const feeds = await Promise.all(timed.map((t) => (opts.feedsFor ?? randomFeeds)(bs, t.inputs)));
      for (let r = 0; r < warmup + repetitions; r++) {
        for (let k = 0; k < timed.length; k++) {
          throwIfAborted(opts.signal);
          const t0 = performance.now();
          await timed[k].session.run(feeds[k]);
          const ms = performance.now() - t0;
          if (r >= warmup) {
            const list = times[k].get(bs) ?? [];
            list.push(ms);
            times[k].set(bs, list);
          }
          opts.onProgress?.(++done, total);
        }
      }
    }
    return paths.map((path, k) => ({ model: path, stats: sizes.map((bs) => latencyStats(bs, warmup, times[k].get(bs)!)) }));
  } finally {
    for (const t of timed) await t.session.release();
  }
}

/** Latency of `model`, and of `reference` interleaved with it, with the speed-up per batch size. */
export async function compareLatency(model: string, reference: string | undefined, opts: LatencyOptions): Promise<LatencyComparison> {
  const [m, ref] = await measureInterleaved(reference ? [model, reference] : [model], opts);
  const host = machineInfo();
  const out: LatencyComparison = { model: m, threads: opts.threads ?? 0, machine: machineText(host), host };
  if (ref) {
    out.reference = ref;
    out.speedup = m.stats.map((s, i) => ({ batchSize: s.batchSize, ratio: ref.stats[i].medianMs / s.medianMs }));
  }
  return out;
}
