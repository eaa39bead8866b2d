// App settings behind one interface: electron-store in Electron (main builds
// it), conf everywhere else. Both validate against SETTINGS_SCHEMA.

import Conf from 'conf';
import { DEFAULT_SETTINGS, SETTINGS_SCHEMA, type AppSettings } from '../shared/settings';

export interface SettingsStore {
  get(): AppSettings;
  update(patch: Partial<AppSettings>): AppSettings;
}

/** Anything with conf's get/set (electron-store is a subclass of conf). */
export interface ConfLike {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}

export function settingsFromConf(store: ConfLike): SettingsStore {
  const keys = Object.keys(DEFAULT_SETTINGS) as (keyof AppSettings)[];
  return {
    get() {
      const out = { ...DEFAULT_SETTINGS } as Record<string, unknown>;
      for (const k of keys) out[k] = store.get(k) ?? DEFAULT_SETTINGS[k];
      return out as unknown as AppSettings;
    },
    update(patch) {
      for (const k of keys) if (patch[k] !== undefined) store.set(k, patch[k]);
      return this.get();
    },
  };
}

/** conf-backed settings; `cwd` lets tests and `qtune serve --settings-dir` keep them apart. */
export function createNodeSettings(cwd?: string): SettingsStore {
  const conf = new Conf<AppSettings>({
    projectName: 'qtune',
    projectSuffix: '',
    cwd,
    schema: SETTINGS_SCHEMA as never,
    clearInvalidConfig: false,
  });
  return settingsFromConf(conf as unknown as ConfLike);
}

/** Settings held in memory only (tests, read-only runs). */
export function createMemorySettings(initial: Partial<AppSettings> = {}): SettingsStore {
  let state: AppSettings = { ...DEFAULT_SETTINGS, ...initial };
  return {
    get: () => state,
    update(patch) {
      state = { ...state, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
      return state;
    },
  };
}
