// The new-project form's advanced section: constant values for a model's inputs
// that are not data (a sample rate, a state of zeros), and a size policy for an
// image folder whose images differ in size. The project's runs then feed them.
import { expect, test } from '@playwright/test';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appUrl, lenetProject, repoRoot, shot } from './helpers';
import { spawnSync } from 'node:child_process';

/** LeNet with a sample-rate input and a state input (test/fixtures/quant/state-inputs.ts), written by the engine. */
function stateModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'qtune-e2e-state-'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/fixtures/quant/write-state-model.ts'), dir], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

test.use({ actionTimeout: 30_000 });

test('a model with a sample-rate input and a zero state: the advanced section feeds them, and a run scores LeNet\'s figure', async ({ page }) => {
  test.setTimeout(300_000);
  const model = stateModel();
  await page.goto(appUrl);
  await page.getByTestId('new-name').fill(`state-${Date.now()}`);
  await page.getByTestId('new-model-path').fill(model);
  await page.getByTestId('new-calibration-path').fill(lenetProject.calibration);
  await page.getByTestId('new-evaluation-path').fill(lenetProject.evaluation);
  await page.getByTestId('new-labels-path').fill(lenetProject.labels);

  await page.getByTestId('new-advanced').locator('summary').click();
  await page.getByTestId('new-read-inputs').click();
  const rows = page.getByTestId('new-constant');
  await expect(rows).toHaveCount(2);
  await expect(page.getByTestId('new-inputs')).toContainText('input: fed by the data');
  await expect(rows.nth(0)).toContainText('sr');
  await expect(rows.nth(1)).toContainText('offset');
  // an input left without a value is said to be missing
  await rows.nth(1).getByTestId('new-constant-use').uncheck();
  await expect(page.getByTestId('new-missing')).toContainText('a value for each input that is not data (sr, offset)');
  await rows.nth(1).getByTestId('new-constant-use').check();
  await rows.nth(0).getByTestId('new-constant-value').fill('16000');
  await rows.nth(0).getByTestId('new-constant-dtype').selectOption('int64');
  await rows.nth(1).getByTestId('new-constant-shape').fill('10');
  await shot(page, 'new-project-advanced-constants');
  await page.getByTestId('new-create').click();

  await expect(page.getByTestId('project-view')).toBeVisible();
  const dir = (await page.getByTestId('project-view').getAttribute('data-project-dir'))!;
  await expect(page.getByTestId('data-refs')).toContainText('evaluation-data.json');
  const manifest = JSON.parse(readFileSync(join(dir, 'evaluation-data.json'), 'utf8'));
  expect(manifest.inputs.sr).toEqual({ constant: 16000, dtype: 'int64' });
  expect(manifest.inputs.offset).toEqual({ constant: 0, shape: [10] });
  await expect(page.getByTestId('data-preview').getByTestId('sample-thumb').first()).toBeVisible();

  await page.getByTestId('step-next').click();
  await page.getByTestId('config-generate').click();
  await expect(page.getByTestId('config-row').first()).toBeVisible();
  await page.getByTestId('config-save').click();
  await expect(page.getByTestId('wizard-content')).toHaveAttribute('data-step', 'quantize');
  await page.getByTestId('run-start').click();
  await expect(page.locator('[data-testid="run-result"][data-run-id="1"]')).toBeVisible({ timeout: 240_000 });
  // the constants were fed as set: LeNet's own float figure on the evaluation set (test/fixtures/README.md)
  await expect(page.getByTestId('run-float')).toHaveText('98.55%');
});

test('images of different sizes: batch of one, chosen in the advanced section, is what the project\'s data says', async ({ page }) => {
  const sizes = join(repoRoot, 'test/fixtures/data/mnist/sizes_png');
  await page.goto(appUrl);
  await page.getByTestId('new-name').fill(`sizes-${Date.now()}`);
  await page.getByTestId('new-model-path').fill(join(repoRoot, 'test/fixtures/models/fcn_mnist.onnx'));
  await page.getByTestId('new-calibration-path').fill(sizes);
  await page.getByTestId('new-evaluation-path').fill(sizes);
  await page.getByTestId('new-labels-path').fill(join(sizes, 'labels.csv'));
  await page.getByTestId('new-advanced').locator('summary').click();
  await page.getByTestId('new-sizes').selectOption('batch-of-one');
  await page.getByTestId('new-create').click();
  await expect(page.getByTestId('project-view')).toBeVisible();
  const dir = (await page.getByTestId('project-view').getAttribute('data-project-dir'))!;
  expect(JSON.parse(readFileSync(join(dir, 'calibration-data.json'), 'utf8'))).toEqual({ inputs: { input: { images: sizes, sizes: 'batch-of-one' } } });
  await expect(page.getByTestId('data-refs')).toContainText('calibration-data.json');
});
