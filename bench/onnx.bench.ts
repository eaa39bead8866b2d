// ONNX layer: load + summary of a real model (PaddleOCR detector) and of a
// synthetic 10,000-node graph. Time is a ratio to a bare protobuf decode of
// the same bytes (the floor any loader pays); memory is the rss/arrayBuffers
// growth while the loaded model is alive, as a ratio to the file size.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeModelProtoRaw } from '../src/engine/onnx/proto';
import { loadModel, saveModel } from '../src/engine/onnx/io';
import { summarizeModel } from '../src/engine/onnx/summary';
import { toDisplayGraph } from '../src/engine/onnx/display';
import { makeSyntheticModel } from '../src/engine/onnx/synthetic';
import { DET_MODEL } from '../src/engine/onnx/testing';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => unknown, runs: number): number {
  fn(); // warm up
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

function memoryOf(fn: () => unknown): { rss: number; arrayBuffers: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage();
  const keep = fn();
  const after = process.memoryUsage();
  void keep;
  return { rss: after.rss - before.rss, arrayBuffers: after.arrayBuffers - before.arrayBuffers };
}

function report(label: string, path: string, runs: number): void {
  const size = statSync(path).size;
  const bytes = readFileSync(path);
  const decode = time(() => decodeModelProtoRaw(bytes), runs);
  const summary = time(() => summarizeModel(path), runs);
  const load = time(() => loadModel(path), runs);
  const loaded = loadModel(path);
  const display = time(() => toDisplayGraph(loaded), runs);
  const mem = memoryOf(() => loadModel(path));
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  console.log(`${label}: ${mb(size)} MiB file, bare decode ${decode.toFixed(1)} ms (baseline)`);
  console.log(`  loadModel          ${(load / decode).toFixed(2)}x decode`);
  console.log(`  summarizeModel     ${(summary / decode).toFixed(2)}x decode (incl. file read)`);
  console.log(`  toDisplayGraph     ${(display / decode).toFixed(2)}x decode (model already loaded)`);
  console.log(`  memory while loaded: rss +${(mem.rss / size).toFixed(2)}x file size, arrayBuffers +${(mem.arrayBuffers / size).toFixed(2)}x file size`);
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
