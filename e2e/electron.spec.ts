import { _electron as electron, expect, test } from '@playwright/test';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clsModel, repoRoot } from './helpers';

/** The Electron binary, when the electron package could download it (not on machines without GitHub access). */
function electronBinary(): string | null {
  const dir = join(repoRoot, 'node_modules', 'electron');
  const pathFile = join(dir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const exe = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(exe) ? exe : null;
}

const binary = electronBinary();

test('Electron: the model summary round trip through preload, IPC, backend and a utility-process worker', async () => {
  if (!binary) {
    console.log('SKIPPED: no Electron binary is installed (node_modules/electron/dist is missing); this test runs where Electron can be downloaded.');
    test.skip(true, 'no Electron binary installed');
    return;
  }
  const app = await electron.launch({ executablePath: binary, args: [join(repoRoot, 'out', 'main', 'index.js')], cwd: repoRoot });
  try {
    const page = await app.firstWindow();
    await expect(page.getByTestId('host')).toContainText('electron');
    // window.qtune is the preload's bridge, and nothing of Node leaks into the page.
    expect(await page.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined');
    await page.getByTestId('model-path').fill(clsModel);
    await page.getByTestId('model-load').click();
    await expect(page.getByTestId('model-outputs')).toContainText('softmax_0.tmp_0');
  } finally {
    await app.close();
  }
});

test('Electron: the sample project opens from the start page, its config is generated, File > Close returns to the start', async () => {
  if (!binary) {
    console.log('SKIPPED: no Electron binary is installed (node_modules/electron/dist is missing); this test runs where Electron can be downloaded.');
    test.skip(true, 'no Electron binary installed');
    return;
  }
  const projects = mkdtempSync(join(tmpdir(), 'qtune-electron-projects-'));
  const app = await electron.launch({
    executablePath: binary,
    args: [join(repoRoot, 'out', 'main', 'index.js')],
    cwd: repoRoot,
    env: { ...process.env, QTUNE_PROJECTS_DIR: projects },
  });
  try {
    const page = await app.firstWindow();
    await page.getByTestId('open-sample').click();
    await expect(page.getByTestId('project-view')).toBeVisible();
    await page.getByTestId('wizard-step-config').click();
    await page.getByTestId('config-generate').click();
    await expect(page.getByTestId('config-row').first()).toBeVisible();
    // The File menu drives the same actions as the browser host's buttons.
    await app.evaluate(({ Menu, BrowserWindow }) => {
      const file = Menu.getApplicationMenu()!.items.find((i) => i.label === 'File')!;
      const close = file.submenu!.items.find((i) => i.label === 'Close Project')!;
      close.click(undefined, BrowserWindow.getAllWindows()[0], undefined as never);
    });
    await expect(page.getByTestId('open-sample')).toBeVisible();
  } finally {
    await app.close();
  }
});

