#!/usr/bin/env node
// `npm start` / `npm run dev`: opens the Electron app. Where the Electron
// binary could not be installed (it is downloaded from outside the npm
// registry), says so in one line and points to the browser host instead.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function electronBinary() {
  try {
    const dir = dirname(require.resolve('electron/package.json'));
    const pathFile = join(dir, 'path.txt');
    if (!existsSync(pathFile)) return null;
    const exe = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
    return existsSync(exe) ? exe : null;
  } catch {
    return null;
  }
}

const exe = electronBinary();
if (!exe) {
  console.log('qtune: the Electron binary is not installed here, so the desktop window cannot open; run "npm run serve" to use the same app in your browser.');
  process.exit(0);
}
const dev = process.argv.includes('--dev');
const cmd = dev ? join(root, 'node_modules', '.bin', 'electron-vite') : exe;
const args = dev ? ['dev'] : [join(root, 'out', 'main', 'index.js')];
const child = spawn(cmd, args, { stdio: 'inherit', cwd: root });
child.on('exit', (code) => process.exit(code ?? 0));
