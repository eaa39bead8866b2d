// "Tune automatically" end to end on the bundled sample, against the real
// `qtune serve` backend: start, watch the live chart, the result (best marked,
// verdict), reopen the project and find the same state, make the best trial
// the current config, then start again and stop: the trials so far stay.
// Screenshots of the live chart and of the result go to e2e/artifacts/.
import { expect, test } from '@playwright/test';
import { join } from 'node:path';
import { E2E_PROJECTS_DIR } from '../playwright.config';
import { appUrl, shot } from './helpers';

test.use({ actionTimeout: 30_000 });

test('the sample tuned automatically: live chart, best under the target, same state after reopening, use it, stop keeps the best', async ({ page }) => {
  test.setTimeout(900_000);
  await page.goto(appUrl);
  await page.getByTestId('open-sample').click();
  await expect(page.getByTestId('project-view')).toBeVisible();
  // a copy, so the sample project the other tests open stays untouched
  const copy = join(E2E_PROJECTS_DIR, `tune-sample-${Date.now()}`);
  await page.getByTestId('file-saveas').click();
  await page.getByTestId('saveas-path').fill(copy);
  await page.getByTestId('saveas-confirm').click();
  await expect(page.getByTestId('project-view')).toHaveAttribute('data-project-dir', `${copy}.qtune`);

  await page.getByTestId('tab-auto').click();
  await expect(page.getByTestId('tune-status')).toHaveAttribute('data-status', 'none');
  await page.getByTestId('tune-max-trials').fill('10');
  await page.getByTestId('tune-start').click();

  // live: the chart fills while the tuning runs
  await expect(page.getByTestId('tune-point').nth(1)).toBeVisible({ timeout: 240_000 });
  await expect(page.getByTestId('tune-target-line')).toBeAttached(); // a horizontal line has no height to be 'visible'
  if ((await page.getByTestId('tune-status').getAttribute('data-status')) === 'running') await expect(page.getByTestId('tune-stop')).toBeVisible();
  await shot(page, 'tune-1-live-chart');

  const status = page.getByTestId('tune-status');
  await expect(status).toHaveAttribute('data-status', 'done', { timeout: 600_000 });
  const verdict = (await page.getByTestId('tune-verdict').textContent())!;
  expect(verdict).toMatch(/^meets the target with/);
  const trials = await page.getByTestId('tune-trial-row').count();
  expect(trials).toBeGreaterThan(1);
  expect(trials).toBeLessThanOrEqual(10);
  await expect(page.getByTestId('tune-point')).toHaveCount(trials);
  await expect(page.getByTestId('tune-best')).toBeVisible();
  const bestPoint = page.locator('[data-testid="tune-point"][data-best="true"]');
  await expect(bestPoint).toHaveAttribute('data-meets', 'true');
  const bestTrial = (await bestPoint.getAttribute('data-trial'))!;
  await expect(page.locator(`[data-testid="tune-trial-row"][data-trial="${bestTrial}"]`).getByTestId('tune-best-row')).toBeVisible();
  await shot(page, 'tune-2-result');

  // every trial is a run of the project
  await page.getByTestId('tab-history').click();
  await expect(page.getByTestId('history-run')).toHaveCount(trials);

  // reload: the project is in the URL, so the page comes back to it, with the same tuning
  await page.reload();
  await expect(page.getByTestId('project-view')).toHaveAttribute('data-project-dir', `${copy}.qtune`);
  await page.getByTestId('tab-auto').click();
  await expect(page.getByTestId('tune-status')).toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('tune-trial-row')).toHaveCount(trials);
  await expect(page.getByTestId('tune-verdict')).toHaveText(verdict);

  // use the best: it becomes the project's current config
  const bestRow = page.locator(`[data-testid="tune-trial-row"][data-trial="${bestTrial}"]`);
  await bestRow.getByTestId('tune-use').click();
  await expect(page.getByTestId('tune-used')).toContainText(`Trial ${bestTrial}`);
  await expect(bestRow.getByTestId('tune-use')).toHaveText('current');
  await page.getByTestId('tab-wizard').click();
  await expect(page.getByTestId('wizard-content')).toHaveAttribute('data-step', 'finish');

  // a second tuning, stopped after its first trial: that trial stays, marked best
  await page.getByTestId('tab-auto').click();
  await page.getByTestId('tune-start').click();
  await expect(page.getByTestId('tune-trial-row')).toHaveCount(1, { timeout: 240_000 });
  await page.getByTestId('tune-stop').click();
  await expect(status).toHaveAttribute('data-status', 'stopped', { timeout: 60_000 });
  await expect(page.getByTestId('tune-trial-row').first()).toBeVisible();
  await expect(page.getByTestId('tune-best')).toBeVisible();
  await shot(page, 'tune-3-stopped');
});
