// The File menu. Menu items only tell the renderer what the user asked for;
// the renderer does it through the same API as its own buttons.

import { Menu, type BrowserWindow, type MenuItemConstructorOptions } from 'electron';
import type { MenuAction, QtuneEvent } from '../shared/api';

export function installMenu(win: BrowserWindow, recentProjects: string[]): void {
  const send = (action: MenuAction, path?: string) => {
    const event: QtuneEvent = { type: 'app.menu', action, path };
    win.webContents.send('qtune:event', event);
  };
  const recent: MenuItemConstructorOptions[] = recentProjects.length
    ? recentProjects.map((p) => ({ label: p, click: () => send('openRecent', p) }))
    : [{ label: 'No recent projects', enabled: false }];
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        { label: 'New Project…', accelerator: 'CmdOrCtrl+N', click: () => send('new') },
        { label: 'Open Project…', accelerator: 'CmdOrCtrl+O', click: () => send('open') },
        { label: 'Open Recent', submenu: recent },
        { label: 'Open Sample Project', click: () => send('openSample') },
        { type: 'separator' },
        { label: 'Save Project As…', accelerator: 'CmdOrCtrl+Shift+S', click: () => send('saveAs') },
        { label: 'Close Project', accelerator: 'CmdOrCtrl+W', click: () => send('close') },
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}
