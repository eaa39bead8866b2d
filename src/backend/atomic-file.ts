// Files that must never be half-written: write a temp file beside the target,
// fsync it, rename it over the target, fsync the folder. A crash leaves either
// the old file or the new one, never a mix.

import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dir = await open(dirname(path), 'r').catch(() => null);
  if (dir) {
    await dir.sync().catch(() => undefined);
    await dir.close();
  }
}
