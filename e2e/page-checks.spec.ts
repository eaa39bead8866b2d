// The page checks themselves: each must fail on what it is there to catch.
import { expect, test } from '@playwright/test';
import { appUrl } from './helpers';
import { expectNoSeriousA11yViolations, watchProblems } from './page-checks';

test('the axe-core check fails on a serious violation and names the rule and the element', async ({ page }) => {
  await page.setContent('<!doctype html><html lang="en"><title>t</title><main><h1>t</h1><button id="nameless"></button></main></html>');
  const err = await expectNoSeriousA11yViolations(page).then(
    () => null,
    (e: Error) => e,
  );
  expect(err?.message).toContain('button-name');
  expect(err?.message).toContain('#nameless');
  await page.setContent('<!doctype html><html lang="en"><title>t</title><main><h1>t</h1><button>Go</button></main></html>');
  await expectNoSeriousA11yViolations(page);
});

test('the problem watcher records console errors, uncaught exceptions and HTTP errors', async ({ page }) => {
  const problems = watchProblems(page);
  await page.goto(appUrl);
  expect(problems.list).toEqual([]);
  await page.evaluate(() => {
    console.error('something broke');
    setTimeout(() => {
      throw new Error('thrown later');
    });
    void fetch('/no-such-file.png').catch(() => undefined);
  });
  await expect.poll(() => problems.list.length).toBeGreaterThanOrEqual(3);
  const all = problems.list.join('\n');
  expect(all).toContain('something broke');
  expect(all).toContain('thrown later');
  expect(all).toMatch(/HTTP 40\d: GET .*no-such-file\.png/);
  expect(() => problems.expectNone()).toThrow();
});
