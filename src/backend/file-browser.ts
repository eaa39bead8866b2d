// Directory listing for the in-page file browser of the browser host, where
// the model lives on the server's disk and no native dialog exists. Like
// Jupyter, it shows only what lies under one root folder (`qtune serve
// --root`, default: the home folder), and hides dotfiles unless asked.

import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { DirEntry, DirListing } from '../shared/api';
import { QtuneError } from '../shared/errors';

export interface ListOptions {
  extensions?: string[];
  /** nothing outside this folder is listed (links are followed to where they really lead) */
  root?: string;
  showHidden?: boolean;
}

function within(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

export async function listDirectory(dir: string, options: ListOptions = {}): Promise<DirListing> {
  const abs = resolve(dir);
  let names: string[];
  let root: string | null = null;
  try {
    if (options.root) {
      root = await realpath(resolve(options.root));
      if (!within(root, await realpath(abs))) {
        throw new QtuneError('outside_root', `${abs} is outside the folder qtune may browse (${root}); start qtune serve with --root to browse elsewhere`, { file: abs });
      }
    }
    const info = await stat(abs);
    if (!info.isDirectory()) throw new QtuneError('not_a_directory', `${abs} is not a folder`, { file: abs });
    names = await readdir(abs);
  } catch (err) {
    if (err instanceof QtuneError) throw err;
    throw new QtuneError('dir_unreadable', `Cannot read folder ${abs}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file: abs });
  }
  // no extensions (or an empty list) means every file: data comes as .npy, .npz, .json, image folders…
  const wanted = options.extensions?.length ? options.extensions.map((e) => e.toLowerCase().replace(/^\.?/, '.')) : undefined;
  const entries: DirEntry[] = [];
  for (const name of names) {
    if (name.startsWith('.') && !options.showHidden) continue;
    const path = join(abs, name);
    const info = await stat(path).catch(() => null);
    if (!info) continue;
    if (info.isDirectory()) entries.push({ name, path, kind: 'dir' });
    else if (!wanted || wanted.some((ext) => name.toLowerCase().endsWith(ext))) entries.push({ name, path, kind: 'file', size: info.size });
  }
  entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'dir' ? -1 : 1));
  const parent = dirname(abs);
  const atRoot = parent === abs || (root !== null && (await realpath(abs)) === root);
  return { dir: abs, parent: atRoot ? null : parent, entries };
}

/** Largest JSON file the app reads for the renderer (a config.json is a few kilobytes). */
const MAX_JSON_BYTES = 16 * 1024 * 1024;

/**
 * A .json file under the browse root, parsed (a config.json picked with the
 * in-page browser: the file lives on the server, so the page cannot read it).
 */
export async function readJsonFile(path: string, options: { root?: string } = {}): Promise<{ value: unknown }> {
  const abs = resolve(path);
  if (!abs.toLowerCase().endsWith('.json')) throw new QtuneError('not_json', `${abs} is not a .json file`, { file: abs });
  // the same root rule as listing: list the folder it is in (which checks the root), then read it
  const listing = await listDirectory(dirname(abs), { root: options.root, showHidden: true });
  const entry = listing.entries.find((e) => e.path === abs && e.kind === 'file');
  if (!entry) throw new QtuneError('file_missing', `${abs} does not exist or is not a file`, { file: abs });
  if ((entry.size ?? 0) > MAX_JSON_BYTES) throw new QtuneError('file_too_large', `${abs} is larger than ${MAX_JSON_BYTES / 1024 / 1024} MB`, { file: abs });
  if (options.root && !within(await realpath(resolve(options.root)), await realpath(abs))) {
    throw new QtuneError('outside_root', `${abs} is outside the folder qtune may browse`, { file: abs });
  }
  try {
    return { value: JSON.parse(await readFile(abs, 'utf8')) };
  } catch (err) {
    throw new QtuneError('json_invalid', `${abs}: not valid JSON (${(err as Error).message})`, { file: abs });
  }
}
