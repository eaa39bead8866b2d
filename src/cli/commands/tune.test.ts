// `qtune run` and `qtune tune` as a user runs them: real processes, real
// models and data, the files they leave, exit codes, Ctrl+C and --resume.

import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TuneSummary } from '../../shared/tune-types';

const bin = resolve('bin/qtune.js');
const mnist = resolve('test/fixtures/data/mnist');
const sample = resolve('resources/sample');
const data = (dir: string) => ['--calib', `${dir}/calib_x.npy`, '--eval', `${dir}/eval_x.npy`, '--labels', `${dir}/eval_y.npy`];

function qtune(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const tmp = () => mkdtempSync(join(tmpdir(), 'qtune-cli-tune-'));
const summaryIn = (out: string) => JSON.parse(readFileSync(join(out, 'trials.json'), 'utf8')) as TuneSummary;

describe('qtune run', () => {
  it('quantizes, evaluates float and int8 and judges the drop', () => {
    const out = tmp();
    const r = qtune('run', '--model', resolve('test/fixtures/models/lenet_mnist.onnx'), ...data(mnist), '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/float 98\.55%, quantized \d+\.\d+%: .* meets the target/);
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(result.judgement.meets).toBe(true);
    expect(existsSync(join(out, result.artifacts.quantModel))).toBe(true);
  });

  it('refuses a bad target in one line', () => {
    const r = qtune('run', '--model', resolve('test/fixtures/models/lenet_mnist.onnx'), ...data(mnist), '--max-drop', 'lots', '--out', tmp());
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('qtune: error: --max-drop wants a number >= 0, got "lots"');
  });
});

describe('qtune tune', () => {
  it('stops after the first trial on LeNet and writes the best config, model and trials', () => {
    const out = tmp();
    const r = qtune('tune', '--model', resolve('test/fixtures/models/lenet_mnist.onnx'), ...data(mnist), '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('trial '))).toEqual([expect.stringMatching(/^trial 1 \[start\] .*: 98\.\d\d \(drop .*\) meets the target; 0 layers in float$/)]);
    expect(r.stdout).toContain(`best config: ${join(out, 'best_config.json')}`);
    expect(summaryIn(out)).toMatchObject({ status: 'done', best: 1 });
    expect(existsSync(join(out, 'best_quant_model.onnx'))).toBe(true);
  });

  it('gives the documented verdict when the budget ends it short of the target, and --resume goes on from there', () => {
    const out = tmp();
    const model = resolve('test/fixtures/models/longtail_mnist.onnx');
    const first = qtune('tune', '--model', model, ...data(mnist), '--max-trials', '1', '--out', out);
    expect(first.code).toBe(2);
    expect(first.stdout).toContain('not suitable for quantization');
    expect(summaryIn(out).status).toBe('budget');
    const again = qtune('tune', '--model', model, ...data(mnist), '--out', out);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('--resume');
    const resumed = qtune('tune', '--model', model, ...data(mnist), '--resume', '--out', out);
    expect(resumed.code).toBe(0);
    // trial 1 is not evaluated again: the new lines start at trial 2
    expect(resumed.stdout.split('\n').filter((l) => l.startsWith('trial '))[0]).toMatch(/^trial 2 /);
    const s = summaryIn(out);
    expect(s.status).toBe('done');
    expect(s.trials.find((t) => t.index === s.best)!.floatLayers).toEqual([]);
    const best = JSON.parse(readFileSync(join(out, 'best_config.json'), 'utf8'));
    expect(best['/classifier/fc2/Gemm'].quant_enable).toBe(true);
  });

  it('loses nothing on Ctrl+C: the trials so far and the best are on disk', async () => {
    const out = tmp();
    const child = spawn(process.execPath, [bin, 'tune', '--model', `${sample}/sensitive_fmnist.onnx`, ...data(sample), '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (/^trial 2 /m.test(stdout)) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
    expect(code).toBe(130);
    const s = summaryIn(out);
    expect(s.status).toBe('stopped');
    expect(s.trials.length).toBeGreaterThanOrEqual(2);
    expect(existsSync(join(out, 'best_config.json'))).toBe(true);
    expect(existsSync(join(out, 'best_quant_model.onnx'))).toBe(true);
  });
});
