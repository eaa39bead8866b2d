// Directory listing for the in-page file browser of the browser host, where
// the model lives on the server's disk and no native dialog exists.

import { readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { DirEntry, DirListing } from '../shared/api';
import { QtuneError } from '../shared/errors';

export async function listDirectory(dir: string, extensions?: string[]): Promise<DirListing> {
  const abs = resolve(dir);
  let names: string[];
  try {
    const info = await stat(abs);
    if (!info.isDirectory()) throw new QtuneError('not_a_directory', `${abs} is not a folder`, { file: abs });
    names = await readdir(abs);
  } catch (err) {
    if (err instanceof QtuneError) throw err;
    throw new QtuneError('dir_unreadable', `Cannot read folder ${abs}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file: abs });
  }
  const wanted = extensions?.map((e) => e.toLowerCase().replace(/^\.?/, '.'));
  const entries: DirEntry[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const path = join(abs, name);
    const info = await stat(path).catch(() => null);
    if (!info) continue;
    if (info.isDirectory()) entries.push({ name, path, kind: 'dir' });
    else if (!wanted || wanted.some((ext) => name.toLowerCase().endsWith(ext))) entries.push({ name, path, kind: 'file', size: info.size });
  }
  entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'dir' ? -1 : 1));
  const parent = dirname(abs);
  return { dir: abs, parent: parent === abs ? null : parent, entries };
}
