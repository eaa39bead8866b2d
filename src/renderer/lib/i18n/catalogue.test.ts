import { describe, expect, it } from 'vitest';
import { en } from './en';
import { zhCN } from './zh-CN';
import { formatNumber, interpolate, localeFromLanguages, tIn } from './index.svelte';

describe('message catalogues', () => {
  it('zh-CN has every English key and nothing else', () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
  });

  it('no message is empty in either language', () => {
    for (const [k, v] of Object.entries(en)) expect(v.trim(), `en ${k}`).not.toBe('');
    for (const [k, v] of Object.entries(zhCN)) expect(v.trim(), `zh-CN ${k}`).not.toBe('');
  });

  it('each translation keeps the parameters of the English message', () => {
    const params = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const k of Object.keys(en) as (keyof typeof en)[]) expect(params(zhCN[k]), k).toEqual(params(en[k]));
  });

  it('Chinese text is Chinese, not copied English', () => {
    // a message with several English words and no CJK character was left untranslated
    const untranslated = Object.entries(zhCN).filter(([, v]) => !/[\u4e00-\u9fff]/.test(v) && /[A-Za-z]{3,}\s+[A-Za-z]{3,}/.test(v));
    expect(untranslated).toEqual([]);
  });
});

describe('t, numbers and the browser language', () => {
  it('fills parameters and formats numbers for the locale', () => {
    expect(tIn('en', 'wizard.configs', { n: 3 })).toBe('3 configs');
    expect(tIn('zh-CN', 'wizard.configs', { n: 3 })).toBe('3 个配置');
    expect(tIn('en', 'project.quantizableOf', { n: 1234, total: 5000 })).toBe('1,234 of 5,000');
    expect(interpolate('{a} and {b}', { a: 'x' }, 'en')).toBe('x and {b}');
    expect(formatNumber(1234567.5, undefined, 'zh-CN')).toBe(new Intl.NumberFormat('zh-CN').format(1234567.5));
  });

  it('maps browser languages: any Chinese to zh-CN, everything else to English', () => {
    expect(localeFromLanguages(['zh-CN', 'en'])).toBe('zh-CN');
    expect(localeFromLanguages(['zh-TW'])).toBe('zh-CN');
    expect(localeFromLanguages(['zh'])).toBe('zh-CN');
    expect(localeFromLanguages(['en-US', 'zh-CN'])).toBe('en');
    expect(localeFromLanguages(['fr-FR', 'zh-CN'])).toBe('zh-CN');
    expect(localeFromLanguages(['de-DE'])).toBe('en');
    expect(localeFromLanguages([])).toBe('en');
  });
});

// ---- hard-coded English left in markup ----

// every component's source, keyed by its path under src/renderer (Vite reads them; the renderer may not use node:fs)
const SOURCES: Record<string, string> = Object.fromEntries(
  Object.entries(import.meta.glob<string>('../../**/*.svelte', { query: '?raw', import: 'default', eager: true })).map(([p, src]) => [p.replace(/^\.\.\/\.\.\//, ''), src]),
);

/** Remove {…} expressions (nested braces), which is where t() calls live. */
function stripExpressions(s: string): string {
  let out = '';
  let depth = 0;
  for (const ch of s) {
    if (ch === '{') depth++;
    else if (ch === '}') depth = Math.max(0, depth - 1);
    else if (depth === 0) out += ch;
  }
  return out;
}

/**
 * Words a user reads that are not translated on purpose: ONNX/AMCT terms, config
 * field names, units and file names the user types as they are.
 */
const KEEP = /^(int8|JSON|cos|ms|KiB|qtune|ONNX|IFMR|ARQ|channel_wise|max_percentile|min_percentile|search_range|search_step|asymmetric|quant_enable|batch_num|skip_fusion_layers|opset|English|upgrade|op|pct|mobilenet-int8)$/;

/** English words in the markup's text and in user-facing attributes, outside {…}. */
function hardCodedText(source: string): string[] {
  const markup = source.replace(/<script[\s\S]*?<\/script>/g, '').replace(/<style[\s\S]*?<\/style>/g, '').replace(/<!--[\s\S]*?-->/g, '');
  const plain = stripExpressions(markup);
  const found: string[] = [];
  // text between tags
  for (const m of plain.matchAll(/>([^<>]+)</g)) found.push(m[1]);
  // attributes a user sees or hears
  for (const m of plain.matchAll(/\s(?:placeholder|title|aria-label|alt|label|buttonLabel|hint|confirm)="([^"]*)"/g)) found.push(m[1]);
  return found
    .flatMap((text) => text.match(/[A-Za-z][A-Za-z0-9_'-]*/g) ?? [])
    .filter((w) => w.length > 1 && !KEEP.test(w));
}

describe('no hard-coded English in the renderer markup', () => {
  it('finds text that is written in the markup', () => {
    expect(hardCodedText('<p>Hello {name}</p><button title="Open it">{t("x")}</button>')).toEqual(['Hello', 'Open', 'it']);
    expect(hardCodedText('<p>{t("a", { n: 1 })}</p><code>int8</code>')).toEqual([]);
  });

  it('every .svelte file takes its text from the catalogue', () => {
    expect(Object.keys(SOURCES).length).toBeGreaterThan(30);
    const offenders = Object.entries(SOURCES)
      .map(([f, src]) => [f, hardCodedText(src)] as const)
      .filter(([, words]) => words.length > 0)
      .map(([f, words]) => `${f}: ${[...new Set(words)].join(' ')}`);
    expect(offenders).toEqual([]);
  });
});
