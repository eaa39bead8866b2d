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

/**
 * English words a user reads in `scope` (text, placeholders, titles, aria
 * labels), for a page that should be in another language. Only what is
 * visible counts. Names are not words: text inside <code> or an element marked
 * translate="no" (or lang="en": a language's own name) (layer names, paths, runtime and CPU names), and identifiers
 * with a digit, an underscore or a dot (int8, batch_num, config.json), and
 * chunks with a slash (paths, layer names). A word
 * is four letters or more; `allowed` lists terms kept in English on purpose
 * (ONNX op types, IFMR, ...). Returns "word: …context…" for each one found.
 */
export async function visibleEnglish(page: Page, scope: string, allowed: readonly string[]): Promise<string[]> {
  const texts = await page.evaluate((sel) => {
    const out: string[] = [];
    const root = document.querySelector(sel);
    if (!root) return [`(no ${sel})`];
    const named = (el: Element | null) => !!el?.closest('code, kbd, [translate="no"], [lang="en"]:not(html), script, style');
    const shown = (el: Element) => el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true }) && !el.closest('details:not([open]) > :not(summary)');
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || named(el) || !shown(el)) continue;
      const text = n.textContent?.trim();
      if (text) out.push(text);
    }
    for (const el of root.querySelectorAll('[placeholder], [title], [aria-label]')) {
      if (named(el) || !shown(el)) continue;
      for (const a of ['placeholder', 'title', 'aria-label']) {
        const v = el.getAttribute(a)?.trim();
        if (v) out.push(v);
      }
    }
    return out;
  }, scope);
  const keep = new Set(allowed.map((w) => w.toLowerCase()));
  const found: string[] = [];
  for (const text of texts) {
    // a chunk with a slash is a path or a layer name (/features/b0/conv/Conv)
    const prose = text.split(/[\s\u3000-\u303f\uff00-\uffef]+/).filter((chunk) => !chunk.includes('/')).join(' ');
    for (const token of prose.match(/[A-Za-z][A-Za-z0-9_.]*[A-Za-z0-9_]|[A-Za-z]/g) ?? []) {
      if (!/^[A-Za-z]{4,}$/.test(token) || keep.has(token.toLowerCase())) continue;
      found.push(`${token}: ${text.slice(0, 120)}`);
    }
  }
  return [...new Set(found)];
}
