// App settings: one schema for electron-store (Electron) and conf (elsewhere),
// which are the same library underneath.

/** Where the window was: only these keys ever reach the window's options. */
export interface WindowBounds {
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized?: boolean;
}

/** How workers run models: onnxruntime intra-op threads (0: one per core) and execution provider. */
export interface RuntimeSettings {
  threads: number;
  executionProvider: string;
}

/** The UI language: 'system' follows the browser/OS (Chinese → zh-CN, otherwise English). */
export type LanguageSetting = 'system' | 'en' | 'zh-CN';
export const LANGUAGES: readonly LanguageSetting[] = ['system', 'en', 'zh-CN'];

export interface AppSettings {
  recentProjects: string[];
  recentModels: string[];
  theme: 'system' | 'light' | 'dark';
  windowBounds: WindowBounds;
  runtime: RuntimeSettings;
  language: LanguageSetting;
}

/** The environment a worker gets for the runtime settings (read by the worker at startup). */
export function runtimeEnv(r: RuntimeSettings | undefined): Record<string, string> {
  return { QTUNE_THREADS: String(r?.threads ?? 0), QTUNE_EP: r?.executionProvider ?? 'cpu' };
}

export const DEFAULT_SETTINGS: AppSettings = {
  recentProjects: [],
  recentModels: [],
  theme: 'system',
  windowBounds: { width: 1280, height: 860 },
  runtime: { threads: 0, executionProvider: 'cpu' },
  language: 'system',
};

export const MAX_RECENT = 10;

/** JSON Schema for the settings file, used by both stores to reject a damaged file. */
export const SETTINGS_SCHEMA = {
  recentProjects: { type: 'array', items: { type: 'string' }, maxItems: MAX_RECENT, default: [] },
  recentModels: { type: 'array', items: { type: 'string' }, maxItems: MAX_RECENT, default: [] },
  theme: { type: 'string', enum: ['system', 'light', 'dark'], default: 'system' },
  windowBounds: {
    // Extra keys in an old file are ignored (pickWindowBounds), not fatal at startup.
    type: 'object',
    properties: {
      x: { type: 'number' },
      y: { type: 'number' },
      width: { type: 'number', minimum: 400 },
      height: { type: 'number', minimum: 300 },
      maximized: { type: 'boolean' },
    },
    required: ['width', 'height'],
    default: { width: 1280, height: 860 },
  },
  runtime: {
    type: 'object',
    properties: {
      threads: { type: 'integer', minimum: 0, maximum: 1024 },
      executionProvider: { type: 'string', pattern: '^[a-z0-9_-]{1,32}$' },
    },
    default: { threads: 0, executionProvider: 'cpu' },
  },
  language: { type: 'string', enum: ['system', 'en', 'zh-CN'], default: 'system' },
} as const;

/** Put `item` first in a recent list, without duplicates, capped at MAX_RECENT. */
export function pushRecent(list: readonly string[], item: string): string[] {
  return [item, ...list.filter((x) => x !== item)].slice(0, MAX_RECENT);
}

/** Only the keys a window position has: a settings file or a client cannot slip other window options in. */
export function pickWindowBounds(b: Partial<WindowBounds> | undefined): WindowBounds {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v) : undefined);
  const out: WindowBounds = {
    width: Math.max(400, num(b?.width) ?? DEFAULT_SETTINGS.windowBounds.width),
    height: Math.max(300, num(b?.height) ?? DEFAULT_SETTINGS.windowBounds.height),
  };
  if (num(b?.x) !== undefined && num(b?.y) !== undefined) {
    out.x = num(b?.x);
    out.y = num(b?.y);
  }
  if (b?.maximized === true) out.maximized = true;
  return out;
}
