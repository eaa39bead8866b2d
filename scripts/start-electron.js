#!/usr/bin/env node
// `npm start` / `npm run dev`: opens the Electron app, and always ends in the app.
//
// The Electron binary is downloaded from GitHub by Electron's own installer,
// which `npm ci` does not run (package.json denies its install script). So:
//   1. the binary is there: start Electron;
//   2. it is not: run Electron's installer (node_modules/electron/install.js), then start Electron;
//   3. the installer cannot download it (offline, blocked): start the browser host
//      (`qtune serve`), print its URL and open it in the default browser;
//      where no browser can be opened, the printed URL is what the user opens.
//
// Environment: QTUNE_ELECTRON_INSTALL_TIMEOUT (seconds the installer may take, default 45),
// QTUNE_OPEN_COMMAND (the program that opens the URL instead of xdg-open / open / start),
// ELECTRON_OVERRIDE_DIST_PATH and ELECTRON_MIRROR (Electron's own).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const dev = process.argv.includes('--dev');

function electronDir() {
  try {
    return dirname(require.resolve('electron/package.json'));
  } catch {
    return null;
  }
}

/** The Electron executable, where it is installed; found the way Electron's own index.js finds it. */
function electronBinary() {
  const dir = electronDir();
  if (!dir) return null;
  const pathFile = join(dir, 'path.txt');
  const name = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (!name && !override) return null;
  const exe = override ? join(override, name || 'electron') : join(dir, 'dist', name);
  return existsSync(exe) ? exe : null;
}

/** Runs Electron's installer; resolves to its one-line failure, or null when it installed the binary. */
function runElectronInstaller() {
  const dir = electronDir();
  if (!dir || !existsSync(join(dir, 'install.js'))) return Promise.resolve('the electron package is not installed (run npm ci)');
  const limitS = Number(process.env.QTUNE_ELECTRON_INSTALL_TIMEOUT) || 45;
  console.log(`qtune: the Electron binary is not installed; running Electron's installer (downloads about 100 MB from GitHub, at most ${limitS} s)…`);
  return new Promise((resolveResult) => {
    const child = spawn(process.execPath, [join(dir, 'install.js')], { cwd: dir, stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill();
      resolveResult(`it did not finish within ${limitS} s (set QTUNE_ELECTRON_INSTALL_TIMEOUT for a slow connection)`);
    }, limitS * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolveResult(err.message);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0 && electronBinary()) return resolveResult(null);
      // the installer prints a stack; its first line says what went wrong
      const first = stderr.split('\n').find((l) => l.trim()) ?? `exit code ${code}`;
      resolveResult(first.trim());
    });
  });
}

function startElectron(exe) {
  const cmd = dev ? join(root, 'node_modules', '.bin', 'electron-vite') : exe;
  const args = dev ? ['dev'] : [join(root, 'out', 'main', 'index.js')];
  const child = spawn(cmd, args, { stdio: 'inherit', cwd: root });
  child.on('exit', (code) => process.exit(code ?? 0));
}

/** The command that opens a URL in the default browser on this platform. */
function openerFor(url) {
  if (process.env.QTUNE_OPEN_COMMAND) return [process.env.QTUNE_OPEN_COMMAND, [url]];
  if (process.platform === 'darwin') return ['open', [url]];
  if (process.platform === 'win32') return ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]];
  return ['xdg-open', [url]];
}

function openInBrowser(url) {
  const [cmd, args] = openerFor(url);
  const fail = (why) => console.log(`qtune: could not open a browser (${cmd}: ${why}); open the URL above in your browser.`);
  let child;
  try {
    child = spawn(cmd, args, { stdio: 'ignore', detached: true });
  } catch (err) {
    fail(err.message);
    return;
  }
  child.on('error', (err) => fail(err.code === 'ENOENT' ? 'not found' : err.message));
  // an opener that exits non-zero had no browser to hand the URL to; one that keeps running is the browser itself
  child.on('exit', (code) => {
    if (code) fail(`exit code ${code}`);
  });
  child.unref();
}

/** Serves the same app to the browser; prints its URL and opens it. */
function startBrowserHost() {
  const server = spawn(process.execPath, [join(root, 'bin', 'qtune.js'), 'serve'], { cwd: root, stdio: ['inherit', 'pipe', 'inherit'] });
  let pending = '';
  let opened = false;
  server.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    if (opened) return;
    pending += chunk;
    const m = /running at (http\S+)/.exec(pending);
    if (m) {
      opened = true;
      openInBrowser(m[1]);
    }
  });
  const stop = (signal) => server.kill(signal);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  server.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
}

let exe = electronBinary();
if (!exe) {
  const failure = await runElectronInstaller();
  exe = failure ? null : electronBinary();
  if (failure) console.log(`qtune: Electron's installer could not fetch the binary: ${failure}`);
}
if (exe) {
  startElectron(exe);
} else if (dev) {
  console.log('qtune: "npm run dev" needs the Electron binary; "npm run serve" runs the same app in your browser.');
  process.exit(1);
} else {
  console.log('qtune: starting the same app in your browser instead (qtune serve).');
  startBrowserHost();
}
