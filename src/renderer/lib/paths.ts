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
