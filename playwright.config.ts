import { defineConfig } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// End-to-end tests drive the real app: `qtune serve` (real backend, workers,
// engine) in Debian's Chromium. The Electron tests launch the Electron binary
// where one is installed and skip, saying so, where it is not.
export const E2E_PORT = Number(process.env.QTUNE_E2E_PORT ?? 47311);
export const E2E_TOKEN = 'e2e-token-0123456789';
const settingsDir = mkdtempSync(join(tmpdir(), 'qtune-e2e-settings-'));
/** Projects made by the tests (the sample project among them) go to a fresh folder each run. */
export const E2E_PROJECTS_DIR = process.env.QTUNE_E2E_PROJECTS_DIR ?? mkdtempSync(join(tmpdir(), 'qtune-e2e-projects-'));
process.env.QTUNE_E2E_PROJECTS_DIR = E2E_PROJECTS_DIR;

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results/playwright',
  timeout: 120_000,
  expect: { timeout: 30_000 },
  workers: 1,
  reporter: [['list'], ['json', { outputFile: 'test-results/playwright.json' }]],
  use: {
    baseURL: `http://127.0.0.1:${E2E_PORT}`,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
    screenshot: 'only-on-failure',
    trace: 'off',
  },
  webServer: {
    // The token travels in the environment (a command line is visible in ps); the tests browse fixtures anywhere.
    command: `node bin/qtune.js serve --port ${E2E_PORT} --root / --settings-dir ${settingsDir} --projects-dir ${E2E_PROJECTS_DIR}`,
    env: { QTUNE_TOKEN: E2E_TOKEN },
    url: `http://127.0.0.1:${E2E_PORT}/?token=${E2E_TOKEN}`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
  },
});
