// Checks any page of the app can be held to: no console errors, no failed
// requests, and no serious or critical accessibility violations (axe-core).
import AxeBuilder from '@axe-core/playwright';
import { expect, type Page } from '@playwright/test';

export interface PageProblems {
  /** console errors, uncaught exceptions, failed requests and HTTP errors seen so far, one line each */
  readonly list: string[];
  /** fails the test, listing them, when there are any */
  expectNone(): void;
}

/** Starts recording a page's console errors, uncaught exceptions, failed requests and HTTP error responses. */
export function watchProblems(page: Page): PageProblems {
  const list: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') list.push(`console error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => list.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => list.push(`request failed: ${r.method()} ${r.url()} (${r.failure()?.errorText ?? 'unknown'})`));
  page.on('response', (r) => {
    if (r.status() >= 400) list.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return {
    list,
    expectNone() {
      expect(list, list.join('\n')).toEqual([]);
    },
  };
}

/**
 * Runs axe-core on the page (or the part `include` selects) and fails with each
 * serious or critical violation: its rule, what it means and where.
 */
export async function expectNoSeriousA11yViolations(page: Page, include?: string): Promise<void> {
  let builder = new AxeBuilder({ page });
  if (include) builder = builder.include(include);
  const { violations } = await builder.analyze();
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = serious.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.length} element(s), e.g. ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  expect(report, `axe-core found serious or critical violations:\n${report.join('\n')}`).toEqual([]);
}
