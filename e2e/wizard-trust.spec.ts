// What an engineer needs before trusting the wizard with a real job: pickers
// that pick data (files and folders), a project that survives a reload, even
// mid-run, and edits that are never lost without a word.
import { expect, test } from '@playwright/test';
import { appUrl, fillLenetForm, NARROW, repoRoot, shot } from './helpers';
import { resolve } from 'node:path';

test.use({ actionTimeout: 30_000 });

const fmnistDir = resolve(repoRoot, 'test/fixtures/data/fmnist');

test('data pickers list .npy files, choose folders, open where the last one was and close with Escape', async ({ page }) => {
  await page.setViewportSize(NARROW);
  await page.goto(appUrl);
  // "Create project" says what it still needs
  await expect(page.getByTestId('new-create')).toBeDisabled();
  await expect(page.getByTestId('new-missing')).toContainText('a name');
  await expect(page.getByTestId('new-missing')).toContainText('calibration data');

  // the calibration picker, started from a path in the folder: every file there, .npy included
  await page.getByTestId('new-calibration-path').fill(resolve(fmnistDir, 'calib_x.npy'));
  await page.getByTestId('new-calibration-browse').click();
  const browser = page.getByTestId('new-calibration-browser');
  await expect(browser).toBeVisible();
  for (const f of ['calib_x.npy', 'calib_y.npy', 'eval_x.npy', 'eval_y.npy']) await expect(browser.getByTestId('file-entry').filter({ hasText: f })).toHaveCount(1);
  await browser.getByTestId('file-entry').filter({ hasText: 'calib_x.npy' }).click();
  await expect(page.getByTestId('new-calibration-path')).toHaveValue(resolve(fmnistDir, 'calib_x.npy'));

  // the next picker opens in the folder used last, and a folder of images can be chosen as it is
  await page.getByTestId('new-evaluation-browse').click();
  const evalBrowser = page.getByTestId('new-evaluation-browser');
  await expect(evalBrowser.locator('code').first()).toHaveText(fmnistDir);
  await evalBrowser.getByTestId('dir-entry').filter({ hasText: 'eval_png' }).click();
  await expect(evalBrowser.locator('code').first()).toHaveText(resolve(fmnistDir, 'eval_png'));
  await shot(page, 'pickers-1024-use-this-folder');
  await evalBrowser.getByTestId('new-evaluation-use-folder').click();
  await expect(page.getByTestId('new-evaluation-path')).toHaveValue(resolve(fmnistDir, 'eval_png'));

  // Escape closes a picker and gives the focus back to its button
  await page.getByTestId('new-labels-browse').click();
  await expect(page.getByTestId('new-labels-browser')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('new-labels-browser')).toHaveCount(0);
  await expect(page.getByTestId('new-labels-browse')).toBeFocused();
});

test('a reload mid-run comes back to the project and follows the run to its result; unsaved edits are not lost without a word', async ({ page }) => {
  test.setTimeout(300_000);
  await page.goto(appUrl);
  await fillLenetForm(page, 'reload');
  await page.getByTestId('new-create').click();
  await expect(page.getByTestId('project-view')).toBeVisible();
  const dir = (await page.getByTestId('project-view').getAttribute('data-project-dir'))!;
  // the project is in the URL
  expect(new URL(page.url()).searchParams.get('project')).toBe(dir);

  await page.getByTestId('step-next').click();
  await page.getByTestId('config-generate').click();
  await expect(page.getByTestId('config-row').first()).toBeVisible();
  await page.getByTestId('config-save').click();
  await expect(page.getByTestId('wizard-content')).toHaveAttribute('data-step', 'quantize');
  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('job-bar')).toBeVisible();

  // reload while it runs: the same project, the job bar with the run's progress, then its result
  await page.reload();
  await expect(page.getByTestId('project-view')).toHaveAttribute('data-project-dir', dir);
  await expect(page.getByTestId('wizard-content')).toHaveAttribute('data-step', 'quantize');
  await expect(page.getByTestId('job-bar')).toContainText('run #1');
  await expect(page.getByTestId('job-stage')).not.toHaveText('starting');
  await shot(page, 'reload-mid-run-job-bar');
  await expect(page.locator('[data-testid="run-result"][data-run-id="1"]')).toBeVisible({ timeout: 240_000 });
  await expect(page.getByTestId('job-bar')).toHaveCount(0);

  // an unsaved edit: closing the project asks first, and a reload keeps it
  await page.getByTestId('wizard-step-config').click();
  const firstRow = page.getByTestId('config-row').first();
  await firstRow.getByTestId('cell-max_percentile').fill('0.9999');
  let asked = '';
  page.once('dialog', (d) => {
    asked = d.message();
    void d.dismiss();
  });
  await page.getByTestId('file-close').click();
  expect(asked).toContain('not saved');
  await expect(page.getByTestId('project-view')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('wizard-content')).toHaveAttribute('data-step', 'config');
  await expect(page.getByTestId('config-row').first().getByTestId('cell-max_percentile')).toHaveValue('0.9999');
  await expect(page.getByTestId('config-save')).toBeEnabled();
  // and the browser asks before the page goes away with it
  let beforeUnload = '';
  page.once('dialog', (d) => {
    beforeUnload = d.type();
    void d.accept();
  });
  await page.getByTestId('config-row').first().getByTestId('cell-max_percentile').fill('0.99999');
  await page.close({ runBeforeUnload: true });
  await expect.poll(() => beforeUnload).toBe('beforeunload');
});
