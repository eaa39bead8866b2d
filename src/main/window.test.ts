// The Electron window and IPC wiring with Electron itself stubbed (no Electron
// binary is needed): what main asks of Electron is what these tests check.

import { beforeEach, describe, expect, it, vi } from 'vitest';
import { pathToFileURL } from 'node:url';

const electron = vi.hoisted(() => {
  const windows: { options: Record<string, unknown>; openHandler?: (d: { url: string }) => unknown }[] = [];
  const handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
  class BrowserWindow {
    webContents = {
      on: () => undefined,
      setWindowOpenHandler: (h: (d: { url: string }) => unknown) => (windows.at(-1)!.openHandler = h),
      getURL: () => '',
    };
    constructor(options: Record<string, unknown>) {
      windows.push({ options });
    }
    once() {}
    loadFile() {
      return Promise.resolve();
    }
    loadURL() {
      return Promise.resolve();
    }
    static fromWebContents() {
      return null;
    }
    static getAllWindows() {
      return [];
    }
  }
  return {
    windows,
    handlers,
    openExternal: vi.fn(),
    permissionRequest: vi.fn(),
    permissionCheck: vi.fn(),
    module: {
      BrowserWindow,
      shell: { openExternal: (url: string) => electron.openExternal(url) },
      session: {
        defaultSession: {
          webRequest: { onHeadersReceived: () => undefined },
          setPermissionRequestHandler: (h: unknown) => electron.permissionRequest(h),
          setPermissionCheckHandler: (h: unknown) => electron.permissionCheck(h),
        },
      },
      ipcMain: { handle: (channel: string, h: (event: unknown, ...args: unknown[]) => unknown) => handlers.set(channel, h) },
      dialog: {},
    },
  };
});
vi.mock('electron', () => electron.module);

const { createMainWindow, installContentSecurityPolicy, rendererIndex } = await import('./window');
const { connectIpc } = await import('./ipc');

beforeEach(() => {
  electron.windows.length = 0;
  electron.openExternal.mockClear();
});

describe('the Electron window', () => {
  it('denies every permission request and check', () => {
    installContentSecurityPolicy();
    const request = electron.permissionRequest.mock.calls[0][0] as (wc: unknown, p: string, cb: (ok: boolean) => void) => void;
    const answers: boolean[] = [];
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read']) request({}, p, (ok) => answers.push(ok));
    expect(answers).toEqual([false, false, false, false]);
    const check = electron.permissionCheck.mock.calls[0][0] as () => boolean;
    expect(check()).toBe(false);
  });

  it('opens only allowed links in the browser and never a new window', () => {
    createMainWindow('/opt/qtune/out', { width: 1000, height: 700 });
    const open = electron.windows[0].openHandler!;
    expect(open({ url: 'https://github.com/x' })).toEqual({ action: 'deny' });
    expect(open({ url: 'http://127.0.0.1:8080/steal' })).toEqual({ action: 'deny' });
    expect(open({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(electron.openExternal.mock.calls).toEqual([['https://github.com/x']]);
  });

  it('gives the window only position keys from the stored settings', () => {
    createMainWindow('/opt/qtune/out', { width: 1000, height: 700, kiosk: true, fullscreen: true, webPreferences: { sandbox: false } } as never);
    const o = electron.windows[0].options;
    expect(o.kiosk).toBeUndefined();
    expect(o.fullscreen).toBeUndefined();
    expect(o).toMatchObject({ width: 1000, height: 700, webPreferences: { sandbox: true, contextIsolation: true, nodeIntegration: false } });
  });

  it('answers backend calls only from the main frame of qtune\'s own page', async () => {
    const calls: string[] = [];
    const backend = { callUnchecked: async (m: string) => (calls.push(m), { ok: 1 }), onEvent: () => () => undefined } as never;
    const index = rendererIndex('/opt/qtune/out');
    connectIpc(backend, { index });
    const call = electron.handlers.get('qtune:call')!;
    const own = { senderFrame: { url: pathToFileURL(index).href, parent: null } };
    expect(await call(own, 'app.info', {})).toMatchObject({ ok: true });
    expect(await call({ senderFrame: { url: pathToFileURL(index).href, parent: {} } }, 'app.info', {})).toMatchObject({ ok: false, error: { code: 'ipc_refused' } });
    expect(await call({ senderFrame: { url: 'https://evil.example/', parent: null } }, 'app.info', {})).toMatchObject({ ok: false, error: { code: 'ipc_refused' } });
    expect(await call({ senderFrame: null }, 'app.info', {})).toMatchObject({ ok: false, error: { code: 'ipc_refused' } });
    expect(calls).toEqual(['app.info']);
    expect(await electron.handlers.get('qtune:pick-file')!({ senderFrame: { url: 'https://evil.example/', parent: null } }, {})).toBeNull();
  });
});
