// Test helper: the `qtune` command as a user runs it, a real process from the repository root.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export const QTUNE_BIN = resolve('bin/qtune.js');

export interface QtuneRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function qtuneSync(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): QtuneRun {
  const r = spawnSync(process.execPath, [QTUNE_BIN, ...args], { cwd: opts.cwd, encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The error lines a failed run printed: exactly one is what the CLI promises. */
export const errorLines = (r: QtuneRun): string[] => r.stderr.split('\n').filter((l) => l.startsWith('qtune: error'));
