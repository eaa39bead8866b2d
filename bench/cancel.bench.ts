// How soon Cancel is heard in each stage of a run on ResNet-50: the stage is timed uncancelled, then run again
// with an abort due half-way through it, as the worker's cancel message or Ctrl+C would arrive (an event that
// waits for the event loop). Printed: the time from when the abort was due to the rejection, and its ratio to
// the stage's own duration; and the longest the event loop was held during the uncancelled run.
// Needs .bench-cache/resnet50.onnx and images224_x.npy (test/fixtures/make/make_bench_models.py); skipped without.

import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataFor } from '../src/engine/data/for-model';
import { evaluateModel } from '../src/engine/eval/evaluate';
import { createSession } from '../src/engine/onnx';
import { quantizeModel } from '../src/engine/quant/quantize';

const CACHE = process.env.QTUNE_BENCH_DIR ?? join(process.cwd(), '.bench-cache');
const MODEL = join(CACHE, 'resnet50.onnx');
const DATA = join(CACHE, 'images224_x.npy');
const LABELS = join(CACHE, 'images224_y.npy');
const STAGES = ['load', 'fuse', 'export', 'write'] as const;

/** The longest gap between turns of the event loop while `fn` runs. */
async function longestStall<T>(fn: () => Promise<T>): Promise<{ value: T; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 5);
  try {
    const value = await fn();
    return { value, stallMs: Math.max(stallMs, performance.now() - last) };
  } finally {
    clearInterval(tick);
  }
}

function quantize(out: string, signal?: AbortSignal, onStage?: (stage: string, at: number) => void) {
  let stage = '';
  return quantizeModel({
    modelPath: MODEL, dataset: { data: DATA }, outDir: out, name: 'm', batchSize: 8, batchNum: 1, signal,
    onProgress: (p) => {
      if (p.stage !== stage) onStage?.((stage = p.stage), performance.now());
    },
  });
}

/** Runs `run` with an abort due `afterMs` in; the time from then to its rejection. */
async function lateBy(run: (signal: AbortSignal, armed: (afterMs: number) => void) => Promise<unknown>): Promise<number> {
  const ac = new AbortController();
  let due = Infinity;
  const armed = (afterMs: number) => {
    due = performance.now() + afterMs;
    setTimeout(() => ac.abort(), afterMs);
  };
  try {
    await run(ac.signal, armed);
  } catch (e) {
    if ((e as { code?: string }).code !== 'cancelled') throw e;
    return performance.now() - due;
  }
  return NaN; // finished before the abort was heard
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export default async function (): Promise<void> {
  if (!existsSync(MODEL) || !existsSync(DATA)) {
    console.log(`cancel latency: skipped, ${CACHE} has no resnet50.onnx / images224_x.npy (make them with /usr/bin/python3 test/fixtures/make/make_bench_models.py)`);
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'qtune-bench-cancel-'));
  try {
    const starts = new Map<string, number>();
    const { stallMs } = await longestStall(() => quantize(join(tmp, 'whole'), undefined, (s, at) => starts.set(s, at)));
    const end = performance.now();
    const order = [...starts.keys()];
    const durationOf = (s: string) => (starts.get(order[order.indexOf(s) + 1]) ?? end) - starts.get(s)!;
    console.log(`ResNet-50 quantization (8 calibration samples), longest event-loop stall ${fmt(stallMs)} (calibration included); load average ${loadavg()[0].toFixed(1)}`);
    for (const stage of STAGES) {
      if (!starts.has(stage)) continue;
      const ms = durationOf(stage);
      const out = join(tmp, `cancel-${stage}`);
      const late = await lateBy((signal, armed) => quantize(out, signal, (s) => s === stage && armed(ms / 2)));
      const left = existsSync(out) ? readdirSync(out) : [];
      console.log(`  ${stage.padEnd(8)} takes ${fmt(ms)}; Cancel due half-way heard ${fmt(late)} after (${(late / ms).toFixed(2)} of the stage); files left: ${left.length ? left.join(', ') : 'none'}`);
    }

    // evaluation of 256 samples, batches of 32: the float model
    const session = await createSession(MODEL, { forComparison: false });
    try {
      const dataset = await openDataFor(session, { data: DATA, labels: LABELS }, MODEL);
      const evaluate = (signal?: AbortSignal) => evaluateModel({ session, modelPath: MODEL, dataset, batchSize: 32, limit: 256, metric: 'classification', signal });
      const t0 = performance.now();
      const { stallMs: evalStall } = await longestStall(() => evaluate());
      const ms = performance.now() - t0;
      const late = await lateBy((signal, armed) => (armed(ms / 2), evaluate(signal)));
      console.log(`  evaluate takes ${fmt(ms)} (256 samples, batch 32), longest stall ${fmt(evalStall)}; Cancel due half-way heard ${fmt(late)} after (${(late / ms).toFixed(2)} of the stage)`);
    } finally {
      await session.release();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
