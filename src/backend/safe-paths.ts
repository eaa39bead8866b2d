// Paths built from what a project folder says. A project folder may come from
// anyone (a shared zip, a repository), so nothing read from it may steer a
// read or write outside it: ids are positive integers, artifact names are
// plain file names, and no symbolic link inside the folder is ever followed.

import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { QtuneError } from '../shared/errors';

/** A config or run id as stored in project.json: a positive integer, nothing else. */
export function checkId(id: unknown, what: string, file?: string): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
    throw new QtuneError('project_damaged', `${file ? `${file}: ` : ''}${what} ${JSON.stringify(id) ?? String(id)} is not a positive whole number`, { file });
  }
  return id;
}

/** A name that stays in its folder: no separators, not "." or "..", no NUL. */
export function isPlainFileName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= 255 &&
    name !== '.' &&
    name !== '..' &&
    !/[/\\\0]/.test(name)
  );
}

/** `dir` joined with `parts`, refused unless the result lies inside `dir`. */
export function insideFolder(dir: string, ...parts: string[]): string {
  const root = resolve(dir);
  const full = resolve(root, ...parts);
  const rel = relative(root, full);
  if (!rel || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new QtuneError('path_outside_project', `${join(...parts)} leads outside the project folder ${root}`, { file: full });
  }
  return full;
}

function linkError(path: string): QtuneError {
  return new QtuneError('project_link', `${path} is a symbolic link; qtune does not follow links inside a project folder`, { file: path });
}

/**
 * Refuse when `path` or any folder between `dir` and it is a symbolic link.
 * Parts that do not exist yet are fine (they will be created as plain entries).
 */
export async function assertNoLinks(dir: string, path: string): Promise<void> {
  const root = resolve(dir);
  const full = insideFolder(root, relative(root, resolve(path)));
  let at = root;
  for (const part of relative(root, full).split(sep)) {
    at = join(at, part);
    const info = await lstat(at).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
      throw err;
    });
    if (!info) return;
    if (info.isSymbolicLink()) throw linkError(at);
  }
}

/** Read a file inside a project folder without following a link at any level. */
export async function readProjectFile(dir: string, path: string): Promise<Buffer> {
  await assertNoLinks(dir, path);
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw linkError(path);
    throw err;
  }
  try {
    const info = await fh.stat();
    if (!info.isFile()) throw new QtuneError('project_damaged', `${path} is not a plain file`, { file: path });
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** Whether anything (a file, a folder, a link) exists at `path`, without following it. */
export async function entryExists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
