// The wizard with the keyboard alone: Tab / Shift+Tab to a control, Enter or
// Space to press it, arrow keys inside a widget (the heatmap, the layer list,
// the graph), typing into fields. The first test leaves the sample project on
// its first step for the other specs; the full walk works on a copy of it
// ("Save as"), from the start page to an export, and checks at every stop that
// the focused element shows it has the focus.
import { expect, test, type Page } from '@playwright/test';
import { appUrl, WIDE } from './helpers';
import { expectNoSeriousA11yViolations, watchProblems } from './page-checks';

test.use({ viewport: WIDE });

/** What has the keyboard focus: its test id (or tag), and whether a focus ring or outline shows it. */
async function focused(page: Page): Promise<{ testid: string; layer: string | null; ring: boolean; tag: string }> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return { testid: '', layer: null, ring: false, tag: 'body' };
    const s = getComputedStyle(el);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
    const shadow = s.boxShadow !== 'none';
    // a row's focus may be drawn on its cells (the heatmap outlines its row header)
    const cell = el.tagName === 'TR' && [...el.children].some((c) => {
      const cs = getComputedStyle(c);
      return (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== 'none';
    });
    return { testid: el.dataset.testid ?? '', layer: el.dataset.layer ?? el.dataset.row ?? null, ring: outline || shadow || cell, tag: el.tagName.toLowerCase() };
  });
}

/**
 * Press Tab (or Shift+Tab) until the element with `testid` has the focus, and
 * check it shows the focus; fails after `max` presses or on an invisible focus.
 */
async function tabTo(page: Page, testid: string, opts: { back?: boolean; max?: number } = {}): Promise<number> {
  const max = opts.max ?? 150;
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press(opts.back ? 'Shift+Tab' : 'Tab');
    const f = await focused(page);
    if (f.testid === testid) {
      expect(f.ring, `${testid} has the focus but nothing shows it`).toBe(true);
      return i;
    }
  }
  throw new Error(`${testid} never took the focus in ${max} presses of ${opts.back ? 'Shift+Tab' : 'Tab'}`);
}

/** The wizard moved to `step` from a button inside the last one: the new step's heading has the focus (not the page). */
async function expectStepHeadingFocused(page: Page, step: string): Promise<void> {
  await expect(page.getByTestId('wizard-content')).toHaveAttribute('data-step', step);
  await expect(page.getByTestId('wizard-heading')).toBeFocused();
}

/** Select all in the focused field and type `text` (the keyboard's way to replace a value). */
async function retype(page: Page, text: string): Promise<void> {
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.type(text);
}

test('the start page and a wizard step can be walked with Tab and Enter only', async ({ page }) => {
  await page.goto(appUrl);
  await expect(page.getByTestId('start-page')).toBeVisible();
  await tabTo(page, 'open-sample');
  await page.keyboard.press('Enter');
  const content = page.getByTestId('wizard-content');
  await expect(content).toHaveAttribute('data-step', 'project');
  await tabTo(page, 'step-next');
  await page.keyboard.press('Enter');
  await expect(content).toHaveAttribute('data-step', 'config');
  // back to step 1 through the stepper
  await tabTo(page, 'wizard-step-project', { back: true });
  await page.keyboard.press('Enter');
  await expect(content).toHaveAttribute('data-step', 'project');
});

test('all six steps, the analysis and the graph with the keyboard alone, on a copy of the sample project', async ({ page }) => {
  test.setTimeout(600_000);
  const problems = watchProblems(page);
  const content = page.getByTestId('wizard-content');
  await page.goto(appUrl);
  await expect(page.getByTestId('start-page')).toBeVisible();
  await tabTo(page, 'open-sample');
  await page.keyboard.press('Enter');
  await expect(content).toHaveAttribute('data-step', 'project');

  // File → Save as: a copy, so the sample itself stays as it was
  await tabTo(page, 'file-saveas', { back: true });
  await page.keyboard.press('Enter');
  const path = page.getByTestId('saveas-path');
  await expect(path).toBeFocused();
  const copy = (await path.inputValue()).replace(/-copy\.qtune$/, `-keys-${Date.now()}.qtune`);
  await retype(page, copy);
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('project-dir')).toHaveText(copy);
  await expect(content).toHaveAttribute('data-step', 'project');

  // 1. project: the accuracy target, then Next
  await tabTo(page, 'target-value');
  await retype(page, '1');
  await tabTo(page, 'step-next');
  await page.keyboard.press('Enter');
  await expectStepHeadingFocused(page, 'config');

  // 2. config: generate, edit a cell of the table, untick a layer with Space, save
  await tabTo(page, 'config-generate');
  await page.keyboard.press('Enter');
  // (a worker reads the model: allow for a busy machine)
  await expect(page.getByTestId('config-row').first()).toBeVisible({ timeout: 120_000 });
  await tabTo(page, 'cell-quant_enable');
  const firstRow = page.getByTestId('config-row').first();
  await expect(firstRow.getByTestId('cell-quant_enable')).toBeFocused();
  await page.keyboard.press('Space');
  await expect(firstRow.getByTestId('cell-quant_enable')).not.toBeChecked();
  await page.keyboard.press('Space');
  await expect(firstRow.getByTestId('cell-quant_enable')).toBeChecked();
  await tabTo(page, 'cell-asymmetric');
  await page.keyboard.press('ArrowDown');
  await tabTo(page, 'config-save');
  await page.keyboard.press('Enter');
  await expectStepHeadingFocused(page, 'quantize');

  // 3. quantize and evaluate
  await tabTo(page, 'run-start');
  await page.keyboard.press('Enter');
  await expect(page.locator('[data-testid="run-result"][data-run-id="1"]')).toBeVisible({ timeout: 240_000 });
  await expectNoSeriousA11yViolations(page);

  // 4. skip sensitive layers: run the analyzer, move in the heatmap, skip a layer
  await tabTo(page, 'step-next');
  await page.keyboard.press('Enter');
  await expectStepHeadingFocused(page, 'skip');
  await tabTo(page, 'analyze-samples');
  await retype(page, '8');
  await tabTo(page, 'analyze-start');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('analysis-heatmap').getByTestId('heatmap-row').first()).toBeVisible({ timeout: 240_000 });
  await tabTo(page, 'heatmap-row');
  const first = (await focused(page)).layer;
  await page.keyboard.press('ArrowDown');
  // the focus follows the arrow key once the row is drawn
  await expect.poll(async () => (await focused(page)).layer).not.toBe(first);
  const second = (await focused(page)).layer;
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('selected-layer')).toContainText(second!);
  await tabTo(page, 'selected-toggle');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('skip-pending')).toContainText('1');
  // a recommended layer's own button, then undo both
  await tabTo(page, 'suggestion-toggle');
  await page.keyboard.press('Space');
  await expect(page.getByTestId('skip-pending')).toContainText('2');
  await page.keyboard.press('Space');
  await tabTo(page, 'selected-toggle', { back: true });
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('skip-pending')).toContainText('0');
  await expectNoSeriousA11yViolations(page);

  // 5. tune: pick a layer in the list with the arrow keys, change a parameter
  await tabTo(page, 'wizard-step-tune', { back: true });
  await page.keyboard.press('Enter');
  await expect(content).toHaveAttribute('data-step', 'tune');
  await tabTo(page, 'tune-layer');
  const row0 = (await focused(page)).layer;
  await page.keyboard.press('ArrowDown');
  await expect.poll(async () => (await focused(page)).layer).not.toBe(row0);
  const row1 = (await focused(page)).layer;
  expect((await focused(page)).ring, 'the focused layer row shows it').toBe(true);
  await expect(page.getByTestId('tune-current')).toContainText(row1!);
  await tabTo(page, 'tune-channel_wise');
  await page.keyboard.press('Space');
  await tabTo(page, 'tune-note');
  await page.keyboard.type('keyboard');
  await expect(page.getByTestId('tune-save')).toBeEnabled();
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Tab');
  await tabTo(page, 'tune-channel_wise', { back: true });
  await page.keyboard.press('Space');
  await expectNoSeriousA11yViolations(page);

  // 6. finish: export run #1
  await tabTo(page, 'wizard-step-finish', { back: true });
  await page.keyboard.press('Enter');
  await expect(content).toHaveAttribute('data-step', 'finish');
  await tabTo(page, 'export-start');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('export-files')).toBeVisible({ timeout: 60_000 });
  await expectNoSeriousA11yViolations(page);

  // the graph: pan, zoom, find, step through the hits, open one
  await tabTo(page, 'tab-graph', { back: true });
  await page.keyboard.press('Enter');
  const stage = page.getByTestId('graph-stage');
  await expect(page.locator('[data-testid="graph-node"]').first()).toBeVisible({ timeout: 60_000 });
  await tabTo(page, 'graph-stage');
  const scene = page.getByTestId('graph-scene');
  const view0 = await scene.getAttribute('transform');
  await page.keyboard.press('ArrowDown');
  await expect(scene).not.toHaveAttribute('transform', view0!);
  const scale = async () => Number(await page.getByTestId('graph-view').getAttribute('data-scale'));
  const k0 = await scale();
  await page.keyboard.press('+');
  await expect.poll(scale).toBeGreaterThan(k0);
  await page.keyboard.press('-');
  await expect.poll(scale).toBeLessThan(k0 * 1.1);
  await page.keyboard.press('/');
  await expect(page.getByTestId('graph-search')).toBeFocused();
  await page.keyboard.type('Conv');
  await expect(page.getByTestId('graph-search-count')).toContainText('1 /');
  await page.keyboard.press('Escape');
  await expect(stage).toBeFocused();
  await page.keyboard.press('n');
  await expect(page.getByTestId('graph-search-count')).toContainText('2 /');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-panel')).toContainText('Conv');
  await tabTo(page, 'graph-search-next', { back: true });
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('graph-search-count')).toContainText('3 /');
  await expectNoSeriousA11yViolations(page);
  problems.expectNone();
});
