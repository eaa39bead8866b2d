import { _electron as electron, expect, test } from '@playwright/test';
import { existsSync, readFileSync } from 'node:fs';
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
