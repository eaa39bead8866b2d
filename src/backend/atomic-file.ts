// Files that must never be half-written: write a temp file beside the target,
// fsync it, rename it over the target, fsync the folder. A crash leaves either
// the old file or the new one, never a mix. The temp file is created
// exclusively (a link planted under its name is never followed), and rename
// replaces a link at the target instead of writing through it.

import { randomBytes } from 'node:crypto';
import { readdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Temp files this module writes: `.<name>.<pid>.<random>.tmp`. */
const TEMP_NAME = /^\..+\.\d+\.[0-9a-f]{6,}\.tmp$/;

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
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

/** Remove temp files a crash left in `dir` (only this module's own names). */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!TEMP_NAME.test(name)) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
