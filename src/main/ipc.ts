// IPC between the window and the backend. Arguments are untrusted: the
// backend checks method and parameters before any handler runs, and only the
// main frame of qtune's own page may call at all (not an iframe, not a page
// the window was somehow navigated to).

import { BrowserWindow, dialog, ipcMain, type IpcMainInvokeEvent } from 'electron';
import type { Backend } from '../backend/backend';
import type { PickFileOptions, WireResponse } from '../shared/api';
import { QtuneError, serializeError } from '../shared/errors';
import { trustedSender } from './guards';

export function connectIpc(backend: Backend, page: { index: string; devUrl?: string }): void {
  const trusted = (event: IpcMainInvokeEvent) => trustedSender(event.senderFrame, page.index, page.devUrl);
  ipcMain.handle('qtune:call', async (event, method: unknown, params: unknown): Promise<WireResponse> => {
    try {
      if (!trusted(event)) throw new QtuneError('ipc_refused', 'Only qtune\'s own page may call the backend');
      return { id: 0, ok: true, result: await backend.callUnchecked(String(method), params) };
    } catch (err) {
      return { id: 0, ok: false, error: serializeError(err) };
    }
  });
  ipcMain.handle('qtune:pick-file', async (event, raw: unknown) => {
    if (!trusted(event)) return null;
    const options = (raw && typeof raw === 'object' ? raw : {}) as PickFileOptions;
    const win = BrowserWindow.fromWebContents(event.sender);
    const filters = Array.isArray(options.extensions)
      ? [{ name: options.extensions.join(', '), extensions: options.extensions.map((e) => String(e).replace(/^\./, '')) }]
      : undefined;
    if (options.save) {
      const r = await dialog.showSaveDialog(win!, { title: options.title, defaultPath: options.defaultPath, filters });
      return r.canceled ? null : (r.filePath ?? null);
    }
    const r = await dialog.showOpenDialog(win!, {
      title: options.title,
      defaultPath: options.defaultPath,
      filters,
      properties: [options.directory ? 'openDirectory' : 'openFile'],
    });
    return r.canceled ? null : (r.filePaths[0] ?? null);
  });
  backend.onEvent((event) => {
    for (const w of BrowserWindow.getAllWindows()) w.webContents.send('qtune:event', event);
  });
}
