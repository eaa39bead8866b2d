import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = resolve('bin/qtune.js');
const lenet = resolve('test/fixtures/models/lenet_mnist.onnx');
const qtune = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('--threads and --ep', () => {
  it('run the command with the given threads and provider, before or after the command name', () => {
    for (const args of [['--threads', '1', '--ep', 'cpu', 'summary', lenet], ['summary', lenet, '--threads', '2']]) {
      const r = qtune(...args);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('/classifier/fc3/Gemm');
    }
  });

  it('refuse a provider this onnxruntime build lacks, in one line listing those it has', () => {
    const r = qtune('--ep', 'cuda', 'summary', lenet);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^qtune: error: execution provider 'cuda' is not available in this onnxruntime build; available: cpu/);
    const t = qtune('--threads', '-1', 'summary', lenet);
    expect(t.status).toBe(1);
    expect(t.stderr).toMatch(/threads must be a whole number/);
  });
});
