// The tuning wizard end to end, against the real `qtune serve` backend: open a
// project, generate the config, quantize and evaluate, analyse, skip the
// suggested layers, re-run, tune one layer's IFMR percentile, re-run, export,
// then reload and reopen: the runs and the wizard position are still there.
// A screenshot of each step goes to e2e/artifacts/.
import { expect, test, type Page } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appUrl, lenetProject, shot } from './helpers';

// a stuck click fails in seconds, not at the end of the whole walk's timeout
test.use({ actionTimeout: 30_000 });

const pct = async (page: Page, testid: string) => Number((await page.getByTestId(testid).textContent())!.replace('%', ''));

async function runAndRead(page: Page, runId: number) {
  await page.getByTestId('run-start').click();
  const result = page.locator(`[data-testid="run-result"][data-run-id="${runId}"]`);
  await expect(result).toBeVisible({ timeout: 240_000 });
  return { float: await pct(page, 'run-float'), quant: await pct(page, 'run-quant') };
}

/** The whole workflow on an open project; `prefix` names the screenshots. */
async function walkWizard(page: Page, prefix: string, opts: { expectImprovement: boolean }) {
  const content = page.getByTestId('wizard-content');
  // 1. project
  await expect(content).toHaveAttribute('data-step', 'project');
  await expect(page.getByTestId('summary-quantizable')).toContainText(/\d+ of \d+/);
  await expect(page.getByTestId('data-preview').getByTestId('sample-thumb').first()).toBeVisible();
  await shot(page, `${prefix}-1-project-summary-and-samples`);

  // 2. initial config
  await page.getByTestId('step-next').click();
  await expect(content).toHaveAttribute('data-step', 'config');
  await page.getByTestId('config-generate').click();
  const rows = page.getByTestId('config-row');
  await expect(rows.first()).toBeVisible();
  const layerCount = await rows.count();
  expect(layerCount).toBeGreaterThan(1);
  // a bad percentile is refused with its path, then put back
  const firstLayer = (await rows.first().getAttribute('data-layer'))!;
  const maxPct = rows.first().getByTestId('cell-max_percentile');
  await maxPct.fill('1.5');
  await expect(page.getByTestId('config-issue').first()).toHaveAttribute('data-path', `$[${JSON.stringify(firstLayer)}].activation_quant_params.max_percentile`);
  await expect(page.getByTestId('config-save')).toBeDisabled();
  await shot(page, `${prefix}-2-config-validation-error`);
  await maxPct.fill('0.999999');
  await expect(page.getByTestId('config-status')).toHaveText('valid');
  await shot(page, `${prefix}-2-config-generated`);
  await page.getByTestId('config-save').click();

  // 3. quantize and evaluate
  await expect(content).toHaveAttribute('data-step', 'quantize');
  const first = await runAndRead(page, 1);
  expect(first.float).toBeGreaterThan(50);
  await expect(page.getByTestId('run-verdict')).not.toBeEmpty();
  // the samples that changed prediction, as thumbnails decoded from the user's data
  if (opts.expectImprovement) await expect(page.getByTestId('run-flips').getByTestId('sample-thumb').first()).toBeVisible();
  // the deployed model: latency next to float, the speed-up, and the runtime parity line
  await expect(page.getByTestId('run-latency').locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('run-speedup')).toContainText(/int8 runs \d+\.\d\d× (faster|slower) than float here/);
  await expect(page.getByTestId('run-parity')).toContainText(/agree on top-1; largest output difference/);
  await shot(page, `${prefix}-3-first-run-float-vs-int8`);

  // 4. skip sensitive layers
  await page.getByTestId('wizard-step-skip').click();
  await expect(content).toHaveAttribute('data-step', 'skip');
  await page.getByTestId('analyze-start').click();
  await expect(page.getByTestId('analysis-heatmap').getByTestId('heatmap-row').first()).toBeVisible({ timeout: 240_000 });
  const recommended = await page.getByTestId('suggestion-recommended').count();
  await shot(page, `${prefix}-4-analyzer-heatmap-and-suggestions`);
  if (opts.expectImprovement) expect(recommended).toBeGreaterThan(0);
  // what keeping each suggested layer in float costs, from the runtime's profiler
  if (recommended > 0) await expect(page.getByTestId('suggestion-cost').first()).toContainText(/ms per batch of \d+ in float/);
  if (recommended === 0) {
    // nothing measured to accept: skip the layer the heatmap lists first, so the re-run still differs
    await page.getByTestId('heatmap-row').first().click();
    await page.getByTestId('selected-toggle').click();
  } else {
    await page.getByTestId('accept-suggestions').click();
    await expect(page.getByTestId('skip-pending')).toContainText(`${recommended} to skip`);
  }
  await page.getByTestId('skip-save').click();
  await expect(content).toHaveAttribute('data-step', 'quantize');
  const second = await runAndRead(page, 2);
  if (opts.expectImprovement) expect(second.quant).toBeGreaterThan(first.quant);
  await shot(page, `${prefix}-5-rerun-after-skipping`);

  // 5. tune one layer's IFMR percentile
  await page.getByTestId('wizard-step-tune').click();
  await expect(content).toHaveAttribute('data-step', 'tune');
  // a layer that is still quantized, so its statistics and the re-run mean something
  const tuneRow = page.locator('[data-testid="tune-layer"]:not(.off)').first();
  const tunedLayer = (await tuneRow.getAttribute('data-layer'))!;
  await tuneRow.click();
  await expect(page.getByTestId('tune-current')).toContainText(tunedLayer);
  await page.getByTestId('tune-max_percentile').fill('0.9999');
  await expect(page.getByTestId('tune-save')).toBeEnabled();
  await shot(page, `${prefix}-6-tune-layer-ifmr`);
  await page.getByTestId('tune-save').click();
  await expect(content).toHaveAttribute('data-step', 'quantize');
  await runAndRead(page, 3);
  await shot(page, `${prefix}-7-rerun-after-tuning`);

  // 6. finish: export
  await page.getByTestId('wizard-step-finish').click();
  await expect(content).toHaveAttribute('data-step', 'finish');
  const out = mkdtempSync(join(tmpdir(), 'qtune-e2e-export-'));
  await expect(page.getByTestId('run-speedup')).toBeVisible();
  await expect(page.getByTestId('run-parity')).toBeVisible();
  await page.getByTestId('export-dir').fill(out);
  await page.getByTestId('export-start').click();
  await expect(page.getByTestId('export-files')).toContainText('.onnx');
  await expect(page.getByTestId('export-files')).toContainText('config');
  await shot(page, `${prefix}-8-finish-export`);

  // run history: three runs, two compared
  await page.getByTestId('tab-history').click();
  await expect(page.getByTestId('history-run')).toHaveCount(3);
  await page.getByTestId('compare-pick').nth(0).check();
  await page.getByTestId('compare-pick').nth(1).check();
  await expect(page.getByTestId('compare-quant')).toHaveCount(2);
  await shot(page, `${prefix}-9-history-compare`);

  // the graph tab: zoom in, so the view has something to restore
  await page.getByTestId('tab-graph').click();
  await expect(page.getByTestId('graph-loading')).toHaveCount(0, { timeout: 60_000 });
  await expect(page.getByTestId('graph-scene')).toHaveAttribute('transform', /scale/);
  // the run's profile: each layer can be coloured by its time in float or int8
  await expect(page.getByTestId('graph-metric').locator('option[value="floatMs"]')).toHaveCount(1);
  await expect(page.getByTestId('graph-metric').locator('option[value="int8Ms"]')).toHaveCount(1);
  // the legend says which run the colours come from
  await expect(page.getByTestId('graph-colour-source')).toContainText(/colours from run \d+/);
  const box = (await page.getByTestId('graph-view').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -400);
  await page.waitForTimeout(500); // the zoom gesture ends, and the view is saved
  const view = await page.getByTestId('graph-scene').getAttribute('transform');
  expect(view).toMatch(/scale\(/);
  await page.getByTestId('tab-wizard').click();

  // reload and reopen: history, wizard position and the graph view restored
  await page.reload();
  await page.getByTestId('recent-project').first().click();
  await expect(page.getByTestId('wizard-content')).toHaveAttribute('data-step', 'finish');
  await page.getByTestId('tab-graph').click();
  await expect(page.getByTestId('graph-scene')).toHaveAttribute('transform', view!);
  await page.getByTestId('tab-wizard').click();
  await page.getByTestId('tab-history').click();
  await expect(page.getByTestId('history-run')).toHaveCount(3);
  await expect(page.getByTestId('compare-quant')).toHaveCount(2);
  await shot(page, `${prefix}-10-reopened-history`);
  return { first, second };
}

test('the sample project: generate, quantize, analyse, skip, tune, export, reopen', async ({ page }) => {
  test.setTimeout(900_000);
  await page.goto(appUrl);
  await shot(page, 'sample-0-start-page');
  await page.getByTestId('open-sample').click();
  await expect(page.getByTestId('project-view')).toBeVisible();
  const { first, second } = await walkWizard(page, 'sample', { expectImprovement: true });
  console.log(`sample: float ${first.float}%, int8 ${first.quant}% → after skipping ${second.quant}%`);
});

test('a new project from the form (LeNet on MNIST) walks the same wizard', async ({ page }) => {
  test.setTimeout(900_000);
  await page.goto(appUrl);
  await page.getByTestId('new-name').fill(`lenet-${Date.now()}`);
  await page.getByTestId('new-model-path').fill(lenetProject.model);
  await page.getByTestId('new-calibration-path').fill(lenetProject.calibration);
  await page.getByTestId('new-evaluation-path').fill(lenetProject.evaluation);
  await page.getByTestId('new-labels-path').fill(lenetProject.labels);
  await shot(page, 'lenet-0-new-project-form');
  await page.getByTestId('new-create').click();
  await expect(page.getByTestId('project-view')).toBeVisible();
  const { first, second } = await walkWizard(page, 'lenet', { expectImprovement: false });
  console.log(`lenet: float ${first.float}%, int8 ${first.quant}% → after skipping ${second.quant}%`);
});
