// Paths in a project file are absolute or relative to the project folder.

import type { FileRef } from '../../shared/project';

export function isAbsolute(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
}

export function resolveRef(projectDir: string, ref: FileRef | string): string {
  const p = typeof ref === 'string' ? ref : ref.path;
  if (isAbsolute(p)) return p;
  const sep = projectDir.includes('\\') && !projectDir.includes('/') ? '\\' : '/';
  return `${projectDir.replace(/[\\/]+$/, '')}${sep}${p}`;
}

export function baseName(p: string): string {
  return p.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? p;
}

/** The folder a path sits in; undefined for a bare name. */
export function parentDir(p: string): string | undefined {
  const trimmed = p.replace(/[\\/]+$/, '');
  const i = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  if (i < 0) return undefined;
  return i === 0 ? trimmed.slice(0, 1) : trimmed.slice(0, i);
}

const LAST_DIR_KEY = 'qtune.lastBrowseDir';

/** The folder the file browser showed last (a new picker opens there, not in the server's working folder). */
export function lastBrowseDir(): string | undefined {
  try {
    return localStorage.getItem(LAST_DIR_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function rememberBrowseDir(dir: string | undefined): void {
  try {
    if (dir) localStorage.setItem(LAST_DIR_KEY, dir);
  } catch {
    // no storage: pickers start from the default folder
  }
}
