// `npm start` on a machine without the Electron binary and without a way to
// fetch it: the start script runs Electron's installer (pointed at a mirror
// that refuses connections, with an empty dist folder, so it fails as offline),
// then serves the app to the browser, prints the tokened URL, and hands it to
// the browser opener, all within a minute. The URL is then loaded for real.
import { expect, test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './helpers';

const children: ChildProcess[] = [];
test.afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGTERM');
});

/** Runs the start script as `npm start` does after its build; resolves once `until` matches its output. */
function startScript(env: Record<string, string>, until: RegExp, limitMs = 60_000): Promise<{ output: string; ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'qtune-e2e-start-'));
  const child = spawn(process.execPath, ['scripts/start-electron.js'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      ELECTRON_OVERRIDE_DIST_PATH: join(dir, 'electron-dist'),
      ELECTRON_MIRROR: 'http://127.0.0.1:9/',
      electron_config_cache: join(dir, 'electron-cache'),
      QTUNE_PROJECTS_DIR: join(dir, 'projects'),
      XDG_CONFIG_HOME: join(dir, 'config'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const t0 = Date.now();
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no match for ${until} within ${limitMs} ms; output:\n${output}`)), limitMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (until.test(output)) {
        clearTimeout(timer);
        resolve({ output, ms: Date.now() - t0 });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`start script exited (${code}) before ${until}; output:\n${output}`));
    });
  });
}

test.skip(process.platform === 'win32', 'the stand-in browser opener is a shell script');

test('without the Electron binary and offline, npm start serves the app, opens the browser on its URL and prints it within a minute', async ({ page }) => {
  const dir = mkdtempSync(join(tmpdir(), 'qtune-e2e-opener-'));
  const opened = join(dir, 'opened-url.txt');
  const opener = join(dir, 'open.sh');
  writeFileSync(opener, `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`);
  chmodSync(opener, 0o755);
  const { output, ms } = await startScript({ QTUNE_OPEN_COMMAND: opener }, /running at http\S+\n/);
  console.log(`npm start without Electron: URL printed after ${ms} ms`);
  expect(output).toContain("running Electron's installer");
  expect(output).toContain('could not fetch the binary');
  const url = /running at (http\S+)/.exec(output)![1];
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=\w{16,}$/);
  await expect.poll(() => (existsSync(opened) ? readFileSync(opened, 'utf8') : ''), { timeout: 10_000 }).toBe(url);
  // the printed URL is the working app
  await page.goto(url);
  await expect(page.getByTestId('host')).toContainText('browser');
});

test('where no browser can be opened, npm start says so and the printed URL still works', async ({ page }) => {
  const { output } = await startScript({ QTUNE_OPEN_COMMAND: '/nonexistent/qtune-opener' }, /could not open a browser.*\n/);
  expect(output).toContain('open the URL above in your browser');
  const url = /running at (http\S+)/.exec(output)![1];
  const res = await fetch(url);
  expect(res.status).toBe(200);
  await page.goto(url);
  await expect(page.getByTestId('host')).toContainText('browser');
});
