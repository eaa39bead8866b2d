// The UI's language: one catalogue per locale (en.ts holds the keys), a
// reactive current locale so a switch re-renders every t() call, and Intl for
// numbers and dates. The CLI and engine messages stay English.
import { en, type MessageKey } from './en';
import { zhCN } from './zh-CN';
import type { LanguageSetting } from '../../../shared/settings';

export type Locale = 'en' | 'zh-CN';
export const LOCALES: readonly Locale[] = ['en', 'zh-CN'];
const CATALOGUES: Record<Locale, Record<MessageKey, string>> = { en, 'zh-CN': zhCN };

/** The locale the browser or OS prefers: any Chinese → zh-CN, everything else → English. */
export function localeFromLanguages(languages: readonly string[] | undefined): Locale {
  for (const l of languages ?? []) {
    if (/^zh\b/i.test(l)) return 'zh-CN';
    if (/^en\b/i.test(l)) return 'en';
  }
  return 'en';
}

export function systemLocale(): Locale {
  if (typeof navigator === 'undefined') return 'en';
  return localeFromLanguages(navigator.languages?.length ? navigator.languages : [navigator.language]);
}

/** The locale a setting means: 'system' follows the browser/OS. */
export function resolveLocale(setting: LanguageSetting | undefined): Locale {
  return setting === 'en' || setting === 'zh-CN' ? setting : systemLocale();
}

const state = $state<{ locale: Locale }>({ locale: systemLocale() });

export function locale(): Locale {
  return state.locale;
}

export function setLocale(l: Locale): void {
  state.locale = l;
  if (typeof document !== 'undefined') document.documentElement.lang = l;
}

export type Params = Record<string, string | number>;

/** Fill {name} placeholders; numbers go through Intl for the locale. */
export function interpolate(template: string, params: Params | undefined, loc: Locale): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (m, name: string) => {
    const v = params[name];
    if (v === undefined) return m;
    return typeof v === 'number' ? formatNumber(v, undefined, loc) : v;
  });
}

/** The message for `key` in the current locale (English if a catalogue lacks it at runtime). */
export function t(key: MessageKey, params?: Params): string {
  const loc = state.locale;
  return interpolate(CATALOGUES[loc][key] ?? en[key], params, loc);
}

/** The message for `key` in a given locale, without touching the current one (tests). */
export function tIn(loc: Locale, key: MessageKey, params?: Params): string {
  return interpolate(CATALOGUES[loc][key] ?? en[key], params, loc);
}

export function formatNumber(n: number, opts?: Intl.NumberFormatOptions, loc: Locale = state.locale): string {
  return new Intl.NumberFormat(loc, opts).format(n);
}

export function formatDate(d: Date | string | number, opts: Intl.DateTimeFormatOptions = { dateStyle: 'medium', timeStyle: 'short' }, loc: Locale = state.locale): string {
  // format() takes a number or a Date; a string (ISO) is parsed first
  return new Intl.DateTimeFormat(loc, opts).format(typeof d === 'string' ? Date.parse(d) : d);
}

export type { MessageKey };
