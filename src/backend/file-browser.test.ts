// The in-page file browser: only the browse root and below, dotfiles on request.

import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listDirectory } from './file-browser';
import { createBackend } from './backend';
import { createMemorySettings } from './settings-store';
import { forkLauncher } from './worker-launcher';

function tree() {
  const top = mkdtempSync(join(tmpdir(), 'qtune-browse-'));
  const root = join(top, 'home');
  mkdirSync(join(root, 'models'), { recursive: true });
  writeFileSync(join(root, 'models', 'a.onnx'), 'x');
  writeFileSync(join(root, '.ssh-key'), 'secret');
  mkdirSync(join(top, 'outside'));
  symlinkSync(join(top, 'outside'), join(root, 'escape'));
  return { top, root };
}

describe('file browser', () => {
  it('lists nothing outside the root, not even through a link, and stops going up at the root', async () => {
    const { top, root } = tree();
    await expect(listDirectory(top, { root })).rejects.toMatchObject({ code: 'outside_root', message: expect.stringContaining('--root') });
    await expect(listDirectory('/etc', { root })).rejects.toMatchObject({ code: 'outside_root' });
    await expect(listDirectory(join(root, 'escape'), { root })).rejects.toMatchObject({ code: 'outside_root' });
    await expect(listDirectory(join(root, 'models', '..', '..'), { root })).rejects.toMatchObject({ code: 'outside_root' });
    expect((await listDirectory(root, { root })).parent).toBeNull();
    expect((await listDirectory(join(root, 'models'), { root })).entries.map((e) => e.name)).toEqual(['a.onnx']);
  });

  it('hides dotfiles unless asked', async () => {
    const { root } = tree();
    expect((await listDirectory(root, { root })).entries.map((e) => e.name)).not.toContain('.ssh-key');
    expect((await listDirectory(root, { root, showHidden: true })).entries.map((e) => e.name)).toContain('.ssh-key');
  });

  it('the backend browses under its root (default: the home folder it was given)', async () => {
    const { top, root } = tree();
    const backend = createBackend({ host: 'browser', launcher: forkLauncher(), settings: createMemorySettings(), version: 't', sampleDir: '/nowhere', projectsDir: root, homeDir: root });
    await expect(backend.callUnchecked('fs.list', { dir: top })).rejects.toMatchObject({ code: 'outside_root' });
    await expect(backend.callUnchecked('fs.list', {})).resolves.toMatchObject({ dir: root, parent: null });
    backend.dispose();
  });
});
