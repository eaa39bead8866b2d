// The in-page file browser: only the browse root and below, dotfiles on request.

import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listDirectory, readJsonFile } from './file-browser';
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

  it('lists every file when no extension (or an empty list) is given, only the wanted ones otherwise', async () => {
    const { root } = tree();
    writeFileSync(join(root, 'models', 'calib_x.npy'), 'x');
    const names = async (extensions?: string[]) => (await listDirectory(join(root, 'models'), { root, extensions })).entries.map((e) => e.name);
    expect(await names([])).toEqual(['a.onnx', 'calib_x.npy']);
    expect(await names(undefined)).toEqual(['a.onnx', 'calib_x.npy']);
    expect(await names(['.npy'])).toEqual(['calib_x.npy']);
  });

  it('reads a .json file under the root, and nothing else', async () => {
    const { top, root } = tree();
    writeFileSync(join(root, 'models', 'config.json'), '{"batch_num": 2}');
    writeFileSync(join(root, 'models', 'broken.json'), '{');
    writeFileSync(join(top, 'outside', 'x.json'), '{}');
    await expect(readJsonFile(join(root, 'models', 'config.json'), { root })).resolves.toEqual({ value: { batch_num: 2 } });
    await expect(readJsonFile(join(root, 'models', 'broken.json'), { root })).rejects.toMatchObject({ code: 'json_invalid' });
    await expect(readJsonFile(join(root, 'models', 'a.onnx'), { root })).rejects.toMatchObject({ code: 'not_json' });
    await expect(readJsonFile(join(root, 'escape', 'x.json'), { root })).rejects.toMatchObject({ code: 'outside_root' });
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
