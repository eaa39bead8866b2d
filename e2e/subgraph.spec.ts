// A project whose network sits inside an If (test/fixtures/models/if_mnist.onnx): the layers of both branches are
// listed, the first run quantizes the branch its calibration batch took, the analyzer compares the layers inside it,
// the graph view expands the If in place with the layers inside coloured by their metric, a layer inside the
// branch is skipped from the heatmap, and the re-run keeps it in float (the expanded graph shows it so).
import { expect, test, type Page } from '@playwright/test';
import { resolve } from 'node:path';
import { appUrl, lenetProject, repoRoot, shot } from './helpers';
import { watchProblems } from './page-checks';

test.use({ actionTimeout: 30_000 });

const ifModel = resolve(repoRoot, 'test/fixtures/models/if_mnist.onnx');

async function openGraphExpanded(page: Page) {
  await page.getByTestId('tab-graph').click();
  await expect(page.getByTestId('graph-loading')).toHaveCount(0, { timeout: 60_000 });
  const owner = page.locator('[data-testid="graph-node"][data-node-id="branch"]');
  await page.getByTestId('graph-stage').focus();
  await page.keyboard.press('0'); // the whole graph in view
  await owner.click();
  await expect(page.getByTestId('node-panel')).toHaveAttribute('data-node-id', 'branch');
  await page.getByTestId('node-expand').click();
  await expect(page.getByTestId('graph-loading')).toHaveCount(0, { timeout: 60_000 });
  await page.getByTestId('graph-stage').focus();
  await page.keyboard.press('0');
  // both branches drawn in place of the If, which is gone
  await expect(page.locator('[data-testid="graph-node"][data-node-id="branch/then_branch/conv1"]')).toHaveCount(1);
  await expect(page.locator('[data-testid="graph-node"][data-node-id="branch/else_branch/fc"]')).toHaveCount(1);
  await expect(owner).toHaveCount(0);
}

test('a model inside an If: layers listed, analysed, expanded in the graph, one skipped from the heatmap, re-run', async ({ page }) => {
  test.setTimeout(600_000);
  const problems = watchProblems(page);
  await page.goto(appUrl);
  await page.getByTestId('new-name').fill(`if-${Date.now()}`);
  await page.getByTestId('new-model-path').fill(ifModel);
  await page.getByTestId('new-calibration-path').fill(lenetProject.calibration);
  await page.getByTestId('new-evaluation-path').fill(lenetProject.evaluation);
  await page.getByTestId('new-labels-path').fill(lenetProject.labels);
  await page.getByTestId('new-create').click();
  await expect(page.getByTestId('project-view')).toBeVisible();
  const content = page.getByTestId('wizard-content');
  await expect(page.getByTestId('summary-quantizable')).toContainText('5 of 5');

  await page.getByTestId('step-next').click();
  await expect(content).toHaveAttribute('data-step', 'config');
  await page.getByTestId('config-generate').click();
  await expect(page.getByTestId('config-row')).toHaveCount(5);
  await page.getByTestId('config-save').click();
  await expect(content).toHaveAttribute('data-step', 'quantize');
  await page.getByTestId('run-start').click();
  await expect(page.locator('[data-testid="run-result"][data-run-id="1"]')).toBeVisible({ timeout: 240_000 });

  await page.getByTestId('wizard-step-skip').click();
  await page.getByTestId('analyze-samples').fill('16');
  await page.getByTestId('analyze-start').click();
  const rows = page.getByTestId('analysis-heatmap').locator('[data-testid="heatmap-row"][data-row^="branch/"]');
  await expect(rows.first()).toBeVisible({ timeout: 240_000 });

  // the graph: the If expanded, its layers coloured by the analysis (a metric value on the quantized ones)
  await openGraphExpanded(page);
  const coloured = page.locator('[data-testid="graph-node"][data-node-id^="branch/"][data-quant-state="quantized"]:not([data-metric=""])');
  expect(await coloured.count()).toBeGreaterThan(0);
  await shot(page, 'subgraph-1-if-expanded');
  const layer = (await coloured.first().getAttribute('data-node-id'))!;

  // skip that layer from the heatmap, save, and the re-run starts by itself
  await page.getByTestId('tab-wizard').click();
  await page.getByTestId('wizard-step-skip').click();
  await page.locator(`[data-testid="heatmap-row"][data-row="${layer}"]`).first().click();
  await expect(page.getByTestId('selected-layer')).toContainText(layer);
  await page.getByTestId('selected-toggle').click();
  await page.getByTestId('skip-save').click();
  await expect(content).toHaveAttribute('data-step', 'quantize');
  await expect(page.getByTestId('quantize-config')).toHaveAttribute('data-config-id', '2');
  await expect(page.locator('[data-testid="run-result"][data-run-id="2"]')).toBeVisible({ timeout: 240_000 });

  // the expanded graph shows the layer inside the branch in float now
  await openGraphExpanded(page);
  await expect(page.locator(`[data-testid="graph-node"][data-node-id="${layer}"]`)).toHaveAttribute('data-quant-state', 'skipped');
  await shot(page, 'subgraph-2-layer-skipped');
  problems.expectNone();
});
