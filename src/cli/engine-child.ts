// Ctrl+C for commands whose engine work runs long stretches of synchronous
// code (calibration): a SIGINT handler in the same process would only run once
// that work is over. So the command runs again in a child process that does
// the work, and this process only supervises it: on Ctrl+C it kills the child
// at once and removes whatever the child had begun to write.

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const CHILD_ENV = 'QTUNE_ENGINE_CHILD';

/** True in the child that does the work: it leaves Ctrl+C to its supervisor. */
export function isEngineChild(): boolean {
  return process.env[CHILD_ENV] === '1';
}

export interface ChildOutputs {
  /** the folder the outputs go to */
  dir: string;
  /** the output files (replaced only when the run completes) */
  files: string[];
  /** prefix of the temporary folders the run writes into before renaming into place */
  stagingPrefix: string;
}

type Signature = string | null;

function signature(path: string): Signature {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return null;
  }
}

/** The highest ancestor of `dir` that does not exist yet (what a recursive mkdir would create), if any. */
function firstMissing(dir: string): string | undefined {
  let missing: string | undefined;
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing = d;
    if (dirname(d) === d) break;
  }
  return missing;
}

/** Removes `root` when it holds nothing but empty folders (never a file). */
function removeEmptyTree(root: string): void {
  try {
    for (const e of readdirSync(root, { withFileTypes: true })) {
      if (!e.isDirectory()) return;
      removeEmptyTree(join(root, e.name));
    }
    rmdirSync(root);
  } catch {
    // not empty, or already gone: leave it
  }
}

/**
 * Re-runs this command in a child process and waits for it; resolves only if
 * the child could not be started (never: the process exits with the child's code).
 * Ctrl+C kills the child, then removes its temporary folders, any output file
 * it had already renamed into place, and the output folder if this run created it.
 */
export function runInEngineChild(outputs: ChildOutputs): Promise<never> {
  const dir = resolve(outputs.dir);
  const before = new Map(outputs.files.map((f) => [f, signature(f)]));
  const created = firstMissing(dir);
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  let cancelled = false;
  const onInterrupt = () => {
    if (cancelled) return;
    cancelled = true;
    process.stderr.write('\nqtune: cancelled; nothing was written\n');
    child.kill('SIGKILL');
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  return new Promise<never>((_, reject) => {
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      if (!cancelled) process.exit(code ?? (sig ? 1 : 0));
      try {
        if (existsSync(dir)) {
          for (const e of readdirSync(dir)) if (e.startsWith(outputs.stagingPrefix)) rmSync(join(dir, e), { recursive: true, force: true });
        }
        // A kill that landed while the finished files were being renamed into place:
        // remove the new ones, so no mix of this run's and an older run's files remains.
        for (const [f, sig0] of before) if (signature(f) !== sig0 && existsSync(f)) rmSync(f, { force: true });
        if (created) removeEmptyTree(created);
      } finally {
        process.exit(130);
      }
    });
  });
}
