// App settings: one schema for electron-store (Electron) and conf (elsewhere),
// which are the same library underneath.

export interface AppSettings {
  recentProjects: string[];
  recentModels: string[];
  theme: 'system' | 'light' | 'dark';
  windowBounds: { x?: number; y?: number; width: number; height: number };
}

export const DEFAULT_SETTINGS: AppSettings = {
  recentProjects: [],
  recentModels: [],
  theme: 'system',
  windowBounds: { width: 1280, height: 860 },
};

export const MAX_RECENT = 10;

/** JSON Schema for the settings file, used by both stores to reject a damaged file. */
export const SETTINGS_SCHEMA = {
  recentProjects: { type: 'array', items: { type: 'string' }, maxItems: MAX_RECENT, default: [] },
  recentModels: { type: 'array', items: { type: 'string' }, maxItems: MAX_RECENT, default: [] },
  theme: { type: 'string', enum: ['system', 'light', 'dark'], default: 'system' },
  windowBounds: {
    type: 'object',
    properties: {
      x: { type: 'number' },
      y: { type: 'number' },
      width: { type: 'number', minimum: 400 },
      height: { type: 'number', minimum: 300 },
    },
    required: ['width', 'height'],
    default: { width: 1280, height: 860 },
  },
} as const;

/** Put `item` first in a recent list, without duplicates, capped at MAX_RECENT. */
export function pushRecent(list: readonly string[], item: string): string[] {
  return [item, ...list.filter((x) => x !== item)].slice(0, MAX_RECENT);
}
