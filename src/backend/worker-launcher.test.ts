// Where the worker's TypeScript loader comes from: qtune's own installation,
// whatever folder qtune was started in.

import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JobManager } from './job-manager';
import { defaultWorkerEntry, forkLauncher } from './worker-launcher';

const lenet = resolve('test/fixtures/models/lenet_mnist.onnx');

describe('worker launcher', () => {
  it('loads tsx by absolute path from qtune itself', () => {
    const { execArgv } = defaultWorkerEntry();
    const loader = execArgv[execArgv.indexOf('--import') + 1];
    expect(loader).toMatch(/^file:\/\//);
    expect(existsSync(fileURLToPath(loader))).toBe(true);
  });

  it('ignores a node_modules/tsx planted in the folder qtune runs in, and works from a folder without one', async () => {
    const planted = mkdtempSync(join(tmpdir(), 'qtune-cwd-'));
    const marker = join(planted, 'planted-ran');
    mkdirSync(join(planted, 'node_modules', 'tsx'), { recursive: true });
    writeFileSync(join(planted, 'node_modules', 'tsx', 'package.json'), JSON.stringify({ name: 'tsx', version: '9.9.9', exports: { '.': './loader.mjs' } }));
    writeFileSync(join(planted, 'node_modules', 'tsx', 'loader.mjs'), `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(marker)}, 'ran');`);
    const bare = mkdtempSync(join(tmpdir(), 'qtune-cwd-bare-'));
    const home = process.cwd();
    try {
      for (const cwd of [planted, bare]) {
        process.chdir(cwd);
        const jobs = new JobManager({ launcher: forkLauncher() });
        const id = jobs.start('model.io', { path: lenet });
        process.chdir(home); // fork has taken its working folder already
        await expect(jobs.wait<'model.io'>(id)).resolves.toMatchObject({ path: lenet });
      }
    } finally {
      process.chdir(home);
    }
    expect(existsSync(marker)).toBe(false);
  });
});
