// A second start of the app (Electron stubbed): it hands over to the running
// one instead of opening the same projects again.

import { describe, expect, it, vi } from 'vitest';

const app = vi.hoisted(() => ({
  requestSingleInstanceLock: vi.fn(() => false),
  quit: vi.fn(),
  on: vi.fn(),
  whenReady: vi.fn(() => new Promise(() => undefined)),
}));
vi.mock('electron', () => ({ app, BrowserWindow: { getAllWindows: () => [] }, dialog: {}, ipcMain: {}, session: {}, shell: {}, Menu: {}, utilityProcess: {} }));
vi.mock('electron-store', () => ({ default: class {} }));

describe('Electron main', () => {
  it('quits at once when another qtune already runs, and starts nothing', async () => {
    await import('./index');
    expect(app.requestSingleInstanceLock).toHaveBeenCalled();
    expect(app.quit).toHaveBeenCalled();
    expect(app.whenReady).not.toHaveBeenCalled();
  });
});
