// A model with two outputs and no labels, judged by how close its int8
// outputs stay to the float model's: the project is created without labels,
// the target is set in the project step (SQNR ≥ 40 dB over both outputs),
// the first run misses it, the analyzer compares every output, keeping one
// layer of the regression head in float meets it, and the run view shows
// each output's similarity.
import { expect, test, type Page } from '@playwright/test';
import { resolve } from 'node:path';
import { appUrl, repoRoot, shot } from './helpers';

test.use({ actionTimeout: 30_000 });

const twohead = {
  model: resolve(repoRoot, 'test/fixtures/models/twohead_mnist.onnx'),
  calibration: resolve(repoRoot, 'test/fixtures/data/mnist/calib_x.npy'),
  evaluation: resolve(repoRoot, 'test/fixtures/data/mnist/eval_x.npy'),
};

/** The similarity of each output in the run view, as shown. */
async function outputsShown(page: Page) {
  const rows = page.locator('[data-testid="run-result"] [data-testid="run-output"]');
  return rows.evaluateAll((trs) =>
    trs.map((tr) => ({
      name: tr.getAttribute('data-output'),
      cosine: Number(tr.querySelector('[data-testid="run-output-cosine"]')!.textContent),
      sqnr: Number(tr.querySelector('[data-testid="run-output-sqnr"]')!.textContent!.replace(' dB', '')),
    })),
  );
}

test('no labels, a similarity target: create, set SQNR ≥ 40 dB, run, analyse, skip a layer, re-run, see every output', async ({ page }) => {
  test.setTimeout(420_000);
  await page.goto(appUrl);
  await page.getByTestId('new-name').fill(`similarity-${Date.now()}`);
  await page.getByTestId('new-model-path').fill(twohead.model);
  await page.getByTestId('new-calibration-path').fill(twohead.calibration);
  await page.getByTestId('new-evaluation-path').fill(twohead.evaluation);
  await page.getByTestId('new-metric').selectOption('similarity');
  await expect(page.getByTestId('new-similarity-note')).toContainText('cosine ≥ 0.99');
  await page.getByTestId('new-create').click();
  await expect(page.getByTestId('project-view')).toBeVisible();

  // 1. the project step: the target is a similarity one already; make it SQNR ≥ 40 dB
  await expect(page.getByTestId('target-kind')).toHaveValue('similarity');
  await expect(page.getByTestId('target-metric')).toHaveValue('cosine');
  await expect(page.getByTestId('target-threshold')).toHaveValue('0.99');
  await page.getByTestId('target-metric').selectOption('sqnr');
  // a new metric starts from its usual threshold
  await expect(page.getByTestId('target-threshold')).toHaveValue('30');
  await expect(page.getByTestId('target-relation')).toHaveText('≥');
  await page.getByTestId('target-threshold').fill('40');
  await expect(page.getByTestId('target-saved')).toBeVisible();
  // kept when leaving the step and coming back
  await page.getByTestId('step-next').click();
  await page.getByTestId('wizard-step-project').click();
  await expect(page.getByTestId('target-kind')).toHaveValue('similarity');
  await expect(page.getByTestId('target-metric')).toHaveValue('sqnr');
  await expect(page.getByTestId('target-threshold')).toHaveValue('40');
  // the project measures what the target asks for
  await expect(page.getByTestId('project-metric')).toHaveText('SQNR');
  await shot(page, 'similarity-1-project-target');
  await page.getByTestId('step-next').click();

  // 2. config
  await page.getByTestId('config-generate').click();
  await expect(page.getByTestId('config-row').first()).toBeVisible();
  await page.getByTestId('config-save').click();

  // 3. the first run: both outputs compared, their mean SQNR below 40 dB
  const content = page.getByTestId('wizard-content');
  await expect(content).toHaveAttribute('data-step', 'quantize');
  await page.getByTestId('run-start').click();
  const first = page.locator('[data-testid="run-result"][data-run-id="1"]');
  await expect(first).toBeVisible({ timeout: 240_000 });
  await expect(page.getByTestId('run-verdict')).toHaveAttribute('data-meets', 'false');
  await expect(page.getByTestId('run-target')).toHaveText('≥ 40.00 dB');
  const outputs1 = await outputsShown(page);
  expect(outputs1.map((o) => o.name)).toEqual(['logits', 'features']);
  for (const o of outputs1) {
    expect(o.cosine).toBeGreaterThan(0.99);
    expect(o.cosine).toBeLessThan(1);
  }
  const quant1 = Number((await page.getByTestId('run-quant').textContent())!.replace(' dB', ''));
  expect(quant1).toBeLessThan(40);
  expect(quant1).toBeCloseTo((outputs1[0].sqnr + outputs1[1].sqnr) / 2, 1);
  await shot(page, 'similarity-2-first-run-per-output');

  // 4. the analyzer, without labels: every layer compared; keep the regression head's last layer in float
  await page.getByTestId('wizard-step-skip').click();
  await expect(content).toHaveAttribute('data-step', 'skip');
  await page.getByTestId('analyze-samples').fill('32');
  await page.getByTestId('analyze-start').click();
  await expect(page.getByTestId('analysis-heatmap').getByTestId('heatmap-row').first()).toBeVisible({ timeout: 240_000 });
  const layer = '/regressor/fc2/Gemm';
  await page.locator(`[data-testid="heatmap-row"][data-row="${layer}"]`).click();
  await expect(page.getByTestId('selected-layer')).toContainText(layer);
  await page.getByTestId('selected-toggle').click();
  await expect(page.getByTestId('skip-pending')).toContainText('1 to skip');
  await shot(page, 'similarity-3-analysis');
  await page.getByTestId('skip-save').click();

  // 5. the re-run meets the target; the runs table shows SQNR in dB, not percent
  await expect(page.getByTestId('quantize-config')).toHaveAttribute('data-config-id', '2');
  const second = page.locator('[data-testid="run-result"][data-run-id="2"]');
  await expect(second).toBeVisible({ timeout: 240_000 });
  await expect(page.getByTestId('run-verdict')).toHaveAttribute('data-meets', 'true');
  const outputs2 = await outputsShown(page);
  expect(outputs2.map((o) => o.name)).toEqual(['logits', 'features']);
  // the regression head in float: its output is closer to the float model's than before
  expect(outputs2[1].sqnr).toBeGreaterThan(outputs1[1].sqnr);
  expect(Number((await page.getByTestId('run-quant').textContent())!.replace(' dB', ''))).toBeGreaterThanOrEqual(40);
  // a similarity run compares outputs, not predictions: no flipped samples to list
  await expect(second.getByText('Flipped samples')).toHaveCount(0);
  await shot(page, 'similarity-4-second-run-meets');
  await page.getByTestId('wizard-step-finish').click();
  await expect(page.getByTestId('finish-runs').getByTestId('history-quant').first()).toHaveText(/^\d+\.\d\d dB$/);
});
