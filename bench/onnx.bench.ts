// ONNX layer: load + summary of a real model (PaddleOCR detector) and of a
// synthetic 10,000-node graph. Time is a ratio to a bare protobuf decode of
// the same bytes (the floor any loader pays); memory is the rss/arrayBuffers
// growth while the loaded model is alive, as a ratio to the file size.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { decodeModelProtoRaw } from '../src/engine/onnx/proto';
import { loadModel, saveModel } from '../src/engine/onnx/io';
import { summarizeModel } from '../src/engine/onnx/summary';
import { toDisplayGraph } from '../src/engine/onnx/display';
import { makeSyntheticModel } from '../src/engine/onnx/synthetic';
import { DET_MODEL } from '../src/engine/onnx/testing';

// A real gc() so timings and "retained" numbers are not GC timing noise.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function once(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/**
 * Median of per-round ratios, the subject and the baseline timed back to back
 * in each round, so load from other processes on a shared machine hits both.
 */
function ratio(subject: () => unknown, baseline: () => unknown, runs: number): { ratio: number; baseMs: number } {
  subject(); baseline(); // warm up
  const ratios: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < runs; i++) {
    gc();
    const b = once(baseline);
    gc();
    const s = once(subject);
    ratios.push(s / b);
    base.push(b);
  }
  return { ratio: median(ratios), baseMs: median(base) };
}


/** rss growth right after the load (≈ peak: rss rarely shrinks that fast) and what stays reachable after a full GC. */
function memoryOf(fn: () => unknown): { peakRss: number; retainedHeap: number; arrayBuffers: number } {
  gc();
  const before = process.memoryUsage();
  const keep = fn();
  const peak = process.memoryUsage();
  gc();
  const after = process.memoryUsage();
  void keep;
  return {
    peakRss: peak.rss - before.rss,
    retainedHeap: after.heapUsed - before.heapUsed,
    arrayBuffers: after.arrayBuffers - before.arrayBuffers,
  };
}

function report(label: string, path: string, runs: number): void {
  const size = statSync(path).size;
  const bytes = readFileSync(path);
  const decode = () => decodeModelProtoRaw(bytes);
  const load = ratio(() => loadModel(path), decode, runs);
  const summary = ratio(() => summarizeModel(path), decode, runs);
  const loaded = loadModel(path);
  const display = ratio(() => toDisplayGraph(loaded), decode, runs);
  const mem = memoryOf(() => loadModel(path));
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  console.log(`${label}: ${mb(size)} MiB file, bare decode ~${load.baseMs.toFixed(1)} ms (baseline)`);
  console.log(`  loadModel          ${load.ratio.toFixed(2)}x decode (incl. file read, naming, validation)`);
  console.log(`  summarizeModel     ${summary.ratio.toFixed(2)}x decode (incl. file read)`);
  console.log(`  toDisplayGraph     ${display.ratio.toFixed(2)}x decode (model already loaded)`);
  const r = (n: number) => `${(n / size).toFixed(2)}x`;
  console.log(`  memory vs file size: rss at load +${r(mem.peakRss)}, retained JS heap +${r(mem.retainedHeap)}, retained arrayBuffers +${r(mem.arrayBuffers)}`);
}

export default async function (): Promise<void> {
  report('PP-OCRv4 detector', DET_MODEL, 7);
  const dir = mkdtempSync(join(tmpdir(), 'qtune-onnx-bench-'));
  try {
    const path = join(dir, 'synthetic10k.onnx');
    saveModel(makeSyntheticModel(10_000, { unnamed: true }), path);
    report('synthetic 10,000 nodes', path, 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
