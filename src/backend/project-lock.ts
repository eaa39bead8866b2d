// One qtune at a time per project folder. Two windows (or a window and a
// `qtune serve`) writing the same project would each number configs and runs
// from their own copy and overwrite each other's. The first to open a project
// writes `.qtune-lock` (its process and instance); another instance is refused
// with a clear message while that process lives. A lock left by a process that
// is gone (a crash, kill -9) is taken over.

import { randomUUID } from 'node:crypto';
import { constants, closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { QtuneError } from '../shared/errors';

export const LOCK_FILE = '.qtune-lock';

interface LockOwner {
  pid: number;
  host: string;
  instance: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(file: string): LockOwner | null {
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const owner = JSON.parse(readFileSync(fd, 'utf8')) as LockOwner;
      return typeof owner?.pid === 'number' && typeof owner.instance === 'string' ? owner : null;
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

/** Every lock holder in this process, released together when the process exits (one listener, however many). */
const holders = new Set<ProjectLocks>();
process.once('exit', () => {
  for (const h of [...holders]) h.releaseAll();
});

export class ProjectLocks {
  private readonly held = new Set<string>();
  private readonly me: LockOwner = { pid: process.pid, host: hostname(), instance: randomUUID() };

  constructor() {
    holders.add(this);
  }

  /** Take the lock of the project folder `dir` (already resolved), or say who holds it. */
  acquire(dir: string): void {
    if (this.held.has(dir)) return;
    const file = join(dir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
        try {
          writeSync(fd, JSON.stringify(this.me));
        } finally {
          closeSync(fd);
        }
        this.held.add(dir);
        holders.add(this);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST') {
          // A folder we cannot write (a read-only copy) cannot be saved to either; saving reports that.
          if (code === 'EACCES' || code === 'EROFS' || code === 'ENOENT') return;
          throw err;
        }
      }
      const owner = readOwner(file);
      if (owner && owner.instance === this.me.instance) {
        this.held.add(dir);
        return;
      }
      if (owner && (owner.host !== this.me.host || alive(owner.pid))) {
        throw new QtuneError(
          'project_in_use',
          `${dir} is open in another qtune window (process ${owner.pid}${owner.host !== this.me.host ? ` on ${owner.host}` : ''}); close it there first, so that neither loses the other's work`,
          { file, hint: `if no qtune is running there, delete ${file}` },
        );
      }
      // The holder is gone: take over its lock.
      try {
        unlinkSync(file);
      } catch {
        /* someone else took it over first: the next attempt says who */
      }
    }
    throw new QtuneError('project_in_use', `${dir} is being opened by another qtune at the same moment; try again`, { file });
  }

  release(dir: string): void {
    if (!this.held.delete(dir)) return;
    const file = join(dir, LOCK_FILE);
    if (readOwner(file)?.instance === this.me.instance) {
      try {
        unlinkSync(file);
      } catch {
        /* already gone */
      }
    }
  }

  releaseAll(): void {
    for (const dir of [...this.held]) this.release(dir);
    holders.delete(this);
  }
}
