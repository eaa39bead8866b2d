// The wizard with the keyboard alone: Tab to a control, Enter to press it.
// From the start page into the sample project, one step forward and back
// again (so the sample project is left on its first step for the other specs).
import { expect, test, type Page } from '@playwright/test';
import { appUrl } from './helpers';

/** Press Tab (or Shift+Tab) until the element with `testid` has the focus; fails after `max` presses. */
async function tabTo(page: Page, testid: string, opts: { back?: boolean; max?: number } = {}): Promise<number> {
  const max = opts.max ?? 150;
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press(opts.back ? 'Shift+Tab' : 'Tab');
    if ((await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))) === testid) return i;
  }
  throw new Error(`${testid} never took the focus in ${max} presses of ${opts.back ? 'Shift+Tab' : 'Tab'}`);
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
