// Electron main: app lifecycle, the window, IPC to the backend. No heavy work
// here; jobs run in utility processes.

import { app, BrowserWindow, dialog } from 'electron';
import Store from 'electron-store';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBackend } from '../backend/backend';
import { findAppPaths } from '../backend/app-paths';
import { settingsFromConf, type ConfLike } from '../backend/settings-store';
import { DEFAULT_SETTINGS, SETTINGS_SCHEMA } from '../shared/settings';
import { connectIpc } from './ipc';
import { installMenu } from './menu';
import { utilityLauncher } from './utility-launcher';
import { createMainWindow, installContentSecurityPolicy, rendererIndex } from './window';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..');

// One qtune app at a time: a second start brings the running window forward
// instead of opening the same projects twice (each project folder is locked too).
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    const win = BrowserWindow.getAllWindows()[0];
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.focus();
  });
  app.whenReady().then(start);
}

function start(): void {
  const paths = findAppPaths();
  const store = new Store({ name: 'settings', schema: SETTINGS_SCHEMA as never, defaults: DEFAULT_SETTINGS as never });
  const settings = settingsFromConf(store as unknown as ConfLike);
  const backend = createBackend({
    host: 'electron',
    launcher: utilityLauncher(join(outDir, 'main', 'worker.js')),
    settings,
    version: app.getVersion(),
    sampleDir: app.isPackaged ? join(process.resourcesPath, 'sample') : paths.sampleDir,
    projectsDir: process.env.QTUNE_PROJECTS_DIR ?? join(app.getPath('documents'), 'qtune-projects'),
  });
  installContentSecurityPolicy();
  connectIpc(backend, { index: rendererIndex(outDir), devUrl: process.env.ELECTRON_RENDERER_URL });

  const win = createMainWindow(outDir, settings.get().windowBounds, process.env.ELECTRON_RENDERER_URL);
  installMenu(win, settings.get().recentProjects);
  // Keep Open Recent current as projects are opened.
  store.onDidChange('recentProjects', (recent) => installMenu(win, (recent as string[] | undefined) ?? []));
  win.on('close', (e) => {
    settings.update({ windowBounds: { ...(win.isMaximized() ? settings.get().windowBounds : win.getBounds()), maximized: win.isMaximized() } });
    const busy = backend.jobs.list().some((j) => j.state === 'running');
    if (busy) {
      const choice = dialog.showMessageBoxSync(win, {
        type: 'question',
        buttons: ['Cancel the job and close', 'Keep working'],
        defaultId: 1,
        message: 'A job is still running. Close qtune anyway?',
      });
      if (choice === 1) e.preventDefault();
    }
  });
  app.on('before-quit', () => backend.dispose());
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createMainWindow(outDir, settings.get().windowBounds);
  });
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
