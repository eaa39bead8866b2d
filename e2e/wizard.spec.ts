// The tuning wizard end to end, against the real `qtune serve` backend: open a
// project, generate the config, quantize and evaluate, analyse, skip the
// suggested layers, re-run, tune one layer's IFMR percentile, re-run, export,
// then reload and reopen: the runs and the wizard position are still there.
// The walk runs in a 1024×700 window: at every step no control is clipped or
// covered, and a screenshot of the step at 1440×900 and at 1024×700 goes to
// e2e/artifacts/. Each step is checked with axe-core (no serious or critical
// violations), and the whole walk must log no console error and fail no request.
import { expect, test, type Page } from '@playwright/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hsl } from 'd3';
import { appUrl, clippedControls, horizontalOverflow, fillLenetForm, NARROW, shot, WIDE } from './helpers';
import { expectNoSeriousA11yViolations, watchProblems } from './page-checks';

// a stuck click fails in seconds, not at the end of the whole walk's timeout
test.use({ actionTimeout: 30_000 });

const pct = async (page: Page, testid: string) => Number((await page.getByTestId(testid).textContent())!.replace('%', ''));

/** The step at both sizes, checked for clipped controls at the small one and with axe-core; the walk goes on at 1024×700. */
async function shotBoth(page: Page, name: string) {
  await page.setViewportSize(WIDE);
  await expectNoSeriousA11yViolations(page);
  await shot(page, `${name}-1440x900`);
  await page.setViewportSize(NARROW);
  expect(await horizontalOverflow(page), `${name}: the page scrolls sideways at 1024×700`).toBeLessThanOrEqual(0);
  expect(await clippedControls(page), `${name}: controls clipped at 1024×700`).toEqual([]);
  await shot(page, `${name}-1024x700`);
}

/** Start a run (or, after "Save config and re-run", wait for the one that started by itself) and read it. */
async function runAndRead(page: Page, runId: number, started = false) {
  if (!started) await page.getByTestId('run-start').click();
  const result = page.locator(`[data-testid="run-result"][data-run-id="${runId}"]`);
  await expect(result).toBeVisible({ timeout: 240_000 });
  return { float: await pct(page, 'run-float'), quant: await pct(page, 'run-quant') };
}

/** The whole workflow on an open project; `prefix` names the screenshots. */
async function walkWizard(page: Page, prefix: string, opts: { expectImprovement: boolean }) {
  const content = page.getByTestId('wizard-content');
  await page.setViewportSize(NARROW);
  // 1. project
  await expect(content).toHaveAttribute('data-step', 'project');
  await expect(page.getByTestId('summary-quantizable')).toContainText(/\d+ of \d+/);
  await expect(page.getByTestId('data-preview').getByTestId('sample-thumb').first()).toBeVisible();
  // the thumbnails sit beside or below the layer table, never on it
  for (const size of [WIDE, NARROW]) {
    await page.setViewportSize(size);
    const thumbs = (await page.getByTestId('data-preview').boundingBox())!;
    const table = (await page.getByTestId('summary-layers').boundingBox())!;
    const overlap = thumbs.x < table.x + table.width && table.x < thumbs.x + thumbs.width && thumbs.y < table.y + table.height && table.y < thumbs.y + thumbs.height;
    expect(overlap, `thumbnails over the layer table at ${size.width}px`).toBe(false);
  }
  // settings a real job needs: the calibration batch size (saved for the next run)
  const calibBatch = page.getByTestId('setting-calibration-batch');
  const batchSize = Number(await calibBatch.inputValue());
  await calibBatch.fill(String(batchSize));
  await calibBatch.press('Tab');
  await expect(page.getByTestId('runtime-ep')).toBeVisible();
  // a changed target followed by Next (no Save button to forget) is kept
  await page.getByTestId('target-value').fill('1.5');
  await shotBoth(page, `${prefix}-1-project-summary-and-samples`);
  await page.getByTestId('step-next').click();
  await expect(content).toHaveAttribute('data-step', 'config');
  await page.getByTestId('wizard-step-project').click();
  await expect(page.getByTestId('target-value')).toHaveValue('1.5');

  // 2. initial config: import one with the in-page browser (not the browser's upload control), then generate
  await page.getByTestId('step-next').click();
  await expect(content).toHaveAttribute('data-step', 'config');
  const importDir = mkdtempSync(join(tmpdir(), 'qtune-e2e-import-'));
  writeFileSync(join(importDir, 'start.json'), JSON.stringify({ version: 1, batch_num: 3 }));
  // the picker opens in the folder used last
  await page.evaluate((d) => localStorage.setItem('qtune.lastBrowseDir', d), importDir);
  await page.getByTestId('config-import-browse').click();
  await page.getByTestId('config-import-browser').getByTestId('file-entry').filter({ hasText: 'start.json' }).click();
  await expect(page.getByTestId('global-batch_num')).toHaveValue('3');
  await expect(page.getByTestId('config-note')).toHaveValue('imported start.json');
  await page.getByTestId('config-generate').click();
  const rows = page.getByTestId('config-row');
  await expect(rows.first()).toBeVisible();
  const layerCount = await rows.count();
  expect(layerCount).toBeGreaterThan(1);
  // every input of the table has a name a screen reader can read
  const firstName = (await rows.first().getAttribute('data-layer'))!;
  await expect(page.getByLabel(`max_percentile of ${firstName}`, { exact: true })).toHaveCount(1);
  // JSON edits with a syntax error are neither lost nor taken for valid
  await page.getByTestId('config-mode-json').click();
  const json = page.getByTestId('config-json');
  const text = await json.inputValue();
  await json.fill(text.replace(/"batch_num": \d+/, '"batch_num": 2'));
  await json.fill(text.replace(/"batch_num": \d+/, '"batch_num": 2,,'));
  await expect(page.getByTestId('config-status')).toHaveText('1 problem');
  await expect(page.getByTestId('config-save')).toBeDisabled();
  await page.getByTestId('config-mode-table').click();
  await expect(page.getByTestId('config-json-blocked')).toBeVisible();
  await expect(json).toHaveValue(/"batch_num": 2,,/);
  await json.fill(text.replace(/"batch_num": \d+/, '"batch_num": 2'));
  await page.getByTestId('config-mode-table').click();
  await expect(page.getByTestId('global-batch_num')).toHaveValue('2');
  // a bad percentile is refused with its path, then put back
  const firstLayer = (await rows.first().getAttribute('data-layer'))!;
  const maxPct = rows.first().getByTestId('cell-max_percentile');
  await maxPct.fill('1.5');
  await expect(page.getByTestId('config-issue').first()).toHaveAttribute('data-path', `$[${JSON.stringify(firstLayer)}].activation_quant_params.max_percentile`);
  await expect(page.getByTestId('config-save')).toBeDisabled();
  await shotBoth(page, `${prefix}-2-config-validation-error`);
  // the JSON view counts the same problem (it once said "valid" beside a list of problems)
  await page.getByTestId('config-mode-json').click();
  await expect(page.getByTestId('config-status')).toHaveText('1 problem');
  await page.getByTestId('config-mode-table').click();
  await maxPct.fill('0.999999');
  await expect(page.getByTestId('config-status')).toHaveText('valid');
  await shotBoth(page, `${prefix}-2-config-generated`);
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
  await shotBoth(page, `${prefix}-3-first-run-float-vs-int8`);

  // 4. skip sensitive layers
  await page.getByTestId('wizard-step-skip').click();
  await expect(content).toHaveAttribute('data-step', 'skip');
  // how many samples the analyzer compares is the user's choice
  await page.getByTestId('analyze-samples').fill('16');
  await page.getByTestId('analyze-start').click();
  await expect(page.getByTestId('analysis-heatmap').getByTestId('heatmap-row').first()).toBeVisible({ timeout: 240_000 });
  await expect(page.getByTestId('wizard-content')).toContainText('16 samples compared');
  const recommended = await page.getByTestId('suggestion-recommended').count();
  // the rules of thumb are folded away: only the recommended layers show
  await expect(page.getByTestId('suggestion').filter({ visible: true })).toHaveCount(recommended);
  // a legend, and every column in view without scrolling sideways, at both sizes
  await expect(page.getByTestId('heatmap-legend')).toBeVisible();
  for (const size of [WIDE, NARROW]) {
    await page.setViewportSize(size);
    const hidden = await page.getByTestId('heatmap-scroller').evaluate((el) => el.scrollWidth - el.clientWidth);
    expect(hidden, `heatmap columns behind a sideways scroll at ${size.width}px`).toBeLessThanOrEqual(0);
  }
  // a healthy model's weights (int8 weight SQNR well above its threshold) stay pale
  if (!opts.expectImprovement) {
    const backgrounds = await page.locator('[data-testid="heatmap-cell"][data-col="weightSqnrDb"]').evaluateAll((cells) => cells.map((c) => getComputedStyle(c).backgroundColor));
    expect(backgrounds.length).toBeGreaterThan(0);
    for (const bg of backgrounds) expect(hsl(bg).l, `weight SQNR cell ${bg}`).toBeGreaterThan(0.6);
  }
  // the rows take the keyboard: focus, arrow down, the next layer is selected
  const heatRows = page.getByTestId('analysis-heatmap').getByTestId('heatmap-row');
  await heatRows.first().focus();
  await page.keyboard.press('ArrowDown');
  await expect(page.getByTestId('selected-layer')).toContainText((await heatRows.nth(1).getAttribute('data-row'))!);
  await shotBoth(page, `${prefix}-4-analyzer-heatmap-and-suggestions`);
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
  // the new config, and no result of the older one beside it; the re-run starts by itself
  await expect(page.getByTestId('quantize-config')).toHaveAttribute('data-config-id', '2');
  await expect(page.locator('[data-testid="run-result"]:not([data-config-id="2"])')).toHaveCount(0);
  const second = await runAndRead(page, 2, true);
  await expect(page.locator('[data-testid="run-result"]')).toHaveAttribute('data-config-id', '2');
  if (opts.expectImprovement) expect(second.quant).toBeGreaterThan(first.quant);
  await shotBoth(page, `${prefix}-5-rerun-after-skipping`);
  if (opts.expectImprovement) {
    // the re-run meets the target: step 4 says nothing needs doing
    await page.getByTestId('wizard-step-skip').click();
    await expect(page.getByTestId('skip-nothing-needed')).toContainText('meets the accuracy target');
  }

  // 5. tune one layer's IFMR percentile
  await page.getByTestId('wizard-step-tune').click();
  await expect(content).toHaveAttribute('data-step', 'tune');
  // layers that are still quantized, so their statistics and the re-run mean something
  const live = page.locator('[data-testid="tune-layer"]:not(.off)');
  const [l0, l1, l2] = await Promise.all([0, 1, 2].map(async (i) => (await live.nth(i).getAttribute('data-layer'))!));
  await live.nth(0).click();
  await expect(page.getByTestId('tune-current')).toHaveAttribute('data-layers', l0);
  // rows move with the arrow keys
  const allLayers = await page.getByTestId('tune-layer').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-layer')!));
  const below = allLayers[allLayers.indexOf(l0) + 1];
  await live.nth(0).focus();
  await page.keyboard.press('ArrowDown');
  await expect(page.getByTestId('tune-current')).toHaveAttribute('data-layers', below);
  await expect(page.locator(`[data-testid="tune-layer"][data-layer="${below}"]`)).toBeFocused();
  // the cos column is in view and filled from the analysed run
  await expect(page.getByTestId('tune-cos').first()).not.toHaveText('—');
  // one tick: the panel is about that layer, not the highlighted one
  await page.locator(`[data-testid="tune-layer"][data-layer="${l1}"] [data-testid="tune-pick"]`).check();
  await expect(page.getByTestId('tune-current')).toHaveAttribute('data-layers', l1);
  await page.getByTestId('tune-max_percentile').fill('0.9999');
  // a second tick with another value: the field reads "mixed"
  await page.locator(`[data-testid="tune-layer"][data-layer="${l2}"] [data-testid="tune-pick"]`).check();
  await expect(page.getByTestId('tune-current')).toHaveAttribute('data-layers', `${l1},${l2}`);
  await expect(page.getByTestId('tune-max_percentile')).toHaveValue('');
  await expect(page.getByTestId('tune-max_percentile')).toHaveAttribute('placeholder', 'mixed');
  await page.getByTestId('tune-search_step').fill('0.02');
  await expect(page.getByTestId('tune-save')).toBeEnabled();
  await shotBoth(page, `${prefix}-6-tune-layer-ifmr`);
  await page.getByTestId('tune-save').click();
  await expect(content).toHaveAttribute('data-step', 'quantize');
  await expect(page.locator('[data-testid="run-result"]:not([data-config-id="3"])')).toHaveCount(0);
  await runAndRead(page, 3, true);
  await shotBoth(page, `${prefix}-7-rerun-after-tuning`);

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
  // exporting again into the same folder asks first
  await page.getByTestId('export-start').click();
  await expect(page.getByTestId('export-confirm')).toContainText('already holds');
  await expect(page.getByTestId('export-files')).toHaveCount(0);
  await page.getByTestId('export-overwrite').click();
  await expect(page.getByTestId('export-files')).toContainText('.onnx');
  await shotBoth(page, `${prefix}-8-finish-export`);

  // run history: three runs; two compared in run order, with what changed between their configs
  await page.getByTestId('tab-history').click();
  await expect(page.getByTestId('history-run')).toHaveCount(3);
  await page.getByTestId('compare-pick').nth(2).check();
  await page.getByTestId('compare-pick').nth(1).check();
  await expect(page.getByTestId('compare-quant')).toHaveCount(2);
  await expect(page.getByTestId('compare').locator('thead th').nth(1)).toContainText('run #2');
  await expect(page.getByTestId('compare-delta-quant')).toHaveText(/^[+-]\d+\.\d\d$/);
  // l1's percentile (set while it alone was ticked), and both layers' search step; nothing else
  const change = (layer: string, field: string) => page.locator(`[data-testid="compare-config-change"][data-layer="${layer}"][data-field="activation_quant_params.${field}"]`);
  for (const [layer, field] of [[l1, 'max_percentile'], [l1, 'search_step'], [l2, 'search_step']]) await expect(change(layer, field)).toHaveCount(1);
  await expect(page.getByTestId('compare-config-change')).toHaveCount(3);
  await shotBoth(page, `${prefix}-9-history-compare`);
  // a run opens on its own page
  await page.getByTestId('history-open').first().click();
  await expect(page.getByTestId('run-page')).toHaveAttribute('data-run-id', '1');
  await expect(page.locator('[data-testid="run-page"] [data-testid="run-result"][data-run-id="1"]')).toBeVisible();
  await shotBoth(page, `${prefix}-9-history-run-page`);
  await page.getByTestId('run-page-back').click();

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

  // reload: the project is in the URL, so the page comes back to it; history, wizard position and the graph view restored
  await page.reload();
  await expect(page.getByTestId('wizard-content')).toHaveAttribute('data-step', 'finish');
  await page.getByTestId('tab-graph').click();
  await expect(page.getByTestId('graph-scene')).toHaveAttribute('transform', view!);
  await page.getByTestId('tab-wizard').click();
  await page.getByTestId('tab-history').click();
  await expect(page.getByTestId('history-run')).toHaveCount(3);
  await expect(page.getByTestId('compare-quant')).toHaveCount(2);
  await shotBoth(page, `${prefix}-10-reopened-history`);
  return { first, second };
}

test('the sample project: generate, quantize, analyse, skip, tune, export, reopen', async ({ page }) => {
  test.setTimeout(900_000);
  const problems = watchProblems(page);
  await page.goto(appUrl);
  await shotBoth(page, 'sample-0-start-page');
  await page.getByTestId('open-sample').click();
  await expect(page.getByTestId('project-view')).toBeVisible();
  const { first, second } = await walkWizard(page, 'sample', { expectImprovement: true });
  console.log(`sample: float ${first.float}%, int8 ${first.quant}% → after skipping ${second.quant}%`);
  problems.expectNone();
});

test('a new project from the form (LeNet on MNIST) walks the same wizard', async ({ page }) => {
  test.setTimeout(900_000);
  const problems = watchProblems(page);
  await page.goto(appUrl);
  await fillLenetForm(page, 'lenet');
  await shotBoth(page, 'lenet-0-new-project-form');
  await page.getByTestId('new-create').click();
  await expect(page.getByTestId('project-view')).toBeVisible();
  const { first, second } = await walkWizard(page, 'lenet', { expectImprovement: false });
  console.log(`lenet: float ${first.float}%, int8 ${first.quant}% → after skipping ${second.quant}%`);
  problems.expectNone();
});
