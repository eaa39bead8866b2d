// The app window: sandboxed, isolated, no Node in the page, a strict CSP, no
// permissions (camera, notifications, …), and no navigation or new windows
// (links to a few known sites open in the user's browser instead).

import { BrowserWindow, session, shell } from 'electron';
import { join } from 'node:path';
import { pickWindowBounds, type AppSettings } from '../shared/settings';
import { externalUrlAllowed } from './guards';

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export function installContentSecurityPolicy(): void {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  // qtune needs no browser permission: deny every request and every check.
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
}

/** Where the built page is: the only page allowed to call the backend. */
export function rendererIndex(outDir: string): string {
  return join(outDir, 'renderer', 'index.html');
}

export function createMainWindow(outDir: string, bounds: AppSettings['windowBounds'], devUrl?: string): BrowserWindow {
  const { maximized, ...position } = pickWindowBounds(bounds);
  const win = new BrowserWindow({
    ...position,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'qtune',
    webPreferences: {
      preload: join(outDir, 'preload', 'index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  win.once('ready-to-show', () => {
    if (maximized) win.maximize();
    win.show();
  });
  win.webContents.on('will-navigate', (e, url) => {
    if (url !== win.webContents.getURL()) e.preventDefault();
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (externalUrlAllowed(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  if (devUrl) void win.loadURL(devUrl);
  else void win.loadFile(rendererIndex(outDir));
  return win;
}
