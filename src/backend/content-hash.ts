// Content hashes for the files a project refers to, so reopening a project
// can tell the user that the model or data changed under it.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A folder (of images, of .bin batches) is summarised by its file names and sizes: reading every byte would be slow. */
async function hashFolder(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    const names = (await readdir(d)).sort();
    for (const name of names) {
      const p = join(d, name);
      const s = await stat(p);
      if (s.isDirectory()) await walk(p);
      else h.update(`${relative(dir, p)}\0${s.size}\n`);
    }
  };
  await walk(dir);
  return `dir:${h.digest('hex')}`;
}

/** sha256 of a file, or of a folder's listing; null when the path does not exist. */
export async function contentHash(path: string): Promise<string | null> {
  const s = await stat(path).catch(() => null);
  if (!s) return null;
  return s.isDirectory() ? hashFolder(path) : hashFile(path);
}
