// The built bundles as the packaged app loads them: plain Node ESM, no tsx.
// The Electron app's backend runs out/main/worker.js in a utility process and
// the packaged `qtune` command runs out/main/cli.js; a bare import that only a
// bundler or tsx resolves (a package subpath without its file extension) loads
// from source, where every other test runs, and fails only here.
import { expect, test } from '@playwright/test';
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './helpers';

const cli = join(repoRoot, 'out', 'main', 'cli.js');
const worker = join(repoRoot, 'out', 'main', 'worker.js');
const lenet = join(repoRoot, 'test', 'fixtures', 'models', 'lenet_mnist.onnx');
const mnist = join(repoRoot, 'test', 'fixtures', 'data', 'mnist');

function qtune(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the bundled CLI quantizes and evaluates a model in plain Node', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qtune-bundle-'));
  try {
    const config = join(dir, 'config.json');
    expect(qtune('create-config', lenet, '-o', config)).toMatchObject({ code: 0 });
    const cal = qtune('calibrate', '--model', lenet, '--config', config, '--data', join(mnist, 'calib_x.npy'), '--save-path', join(dir, 'lenet'), '--batch-size', '32');
    expect(cal.out).toContain('lenet_quant_model.onnx');
    expect(cal.code).toBe(0);
    const ev = qtune('evaluate', '--model', join(dir, 'lenet_quant_model.onnx'), '--data', join(mnist, 'eval_x.npy'), '--labels', join(mnist, 'eval_y.npy'));
    expect(ev.code, ev.out).toBe(0);
    expect(ev.out).toMatch(/top-1 \d+\.\d+% on 2000 samples/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the bundled backend worker runs a job in plain Node', async () => {
  const child = fork(worker, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  try {
    const result = await new Promise<unknown>((resolve, reject) => {
      child.on('message', (m: { type: string; result?: unknown; error?: { message: string } }) => {
        if (m.type === 'ready') child.send({ type: 'run', jobId: 'bundle-1', kind: 'model.io', params: { path: lenet } });
        else if (m.type === 'result') resolve(m.result);
        else if (m.type === 'error') reject(new Error(m.error?.message));
      });
      child.on('exit', (code) => reject(new Error(`the worker exited (code ${code}) before a result: ${stderr.slice(-2000)}`)));
    });
    expect(result).toMatchObject({ path: lenet });
  } finally {
    child.kill();
  }
});

test('the bundled thread entries start in plain Node and answer (calibration folding, analyzer comparison)', async () => {
  // the comparison thread: one tensor pair, one through a Relu; the reply's metrics are those of the pair
  const script = `
    const { Worker } = require('node:worker_threads');
    const w = new Worker(${JSON.stringify(join(repoRoot, 'out', 'main', 'compare-worker.js'))});
    const x = Float32Array.from([1, -2, 3, 4]), y = Float32Array.from([1, -2, 3, 5]);
    w.on('message', (m) => { console.log(JSON.stringify(m)); w.terminate(); });
    w.on('error', (e) => { console.error(e.message); process.exit(1); });
    w.postMessage({ id: 7, tasks: [{ x, y, per: 4, count: 1 }, { x, y, per: 4, count: 1, relu: { x: true, y: true } }] });
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  const reply = JSON.parse(r.stdout.trim()) as { id: number; results: { MaxAbsoluteError: number; CosineSimilarity: number }[][] };
  expect(reply.id).toBe(7);
  expect(reply.results.map((t) => t[0].MaxAbsoluteError)).toEqual([1, 1]);
  expect(reply.results[1][0].CosineSimilarity).not.toBe(reply.results[0][0].CosineSimilarity);
  // the folding thread loads too (it answers a collect with no histograms)
  const fold = `
    const { Worker } = require('node:worker_threads');
    const w = new Worker(${JSON.stringify(join(repoRoot, 'out', 'main', 'histogram-worker.js'))});
    w.on('message', (m) => { console.log(JSON.stringify(m)); w.terminate(); });
    w.on('error', (e) => { console.error(e.message); process.exit(1); });
    w.postMessage({ kind: 'collect' });
  `;
  const f = spawnSync(process.execPath, ['-e', fold], { encoding: 'utf8', timeout: 60_000 });
  expect(f.status, f.stderr).toBe(0);
  expect(JSON.parse(f.stdout.trim())).toEqual({ kind: 'histograms', states: [] });
});
