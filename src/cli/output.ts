// How the CLI talks: results on stdout (JSON with --json), progress and errors
// on stderr, one line per error with no stack trace.

import { isCancelled, QtuneError } from '../shared/errors';

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function fail(err: unknown): never {
  const msg = err instanceof QtuneError || err instanceof Error ? err.message : String(err);
  process.stderr.write(`qtune: error: ${msg.split('\n')[0]}\n`);
  if (process.env.QTUNE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(isCancelled(err) ? 130 : 1);
}

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** Seconds left in a stage, from its pace so far; undefined until there is a pace to go by. */
export function etaSeconds(elapsedMs: number, done: number, total: number): number | undefined {
  if (!(done > 0 && total > done && elapsedMs >= 200)) return undefined;
  return ((elapsedMs / done) * (total - done)) / 1000;
}

function formatEta(s: number): string {
  const t = Math.ceil(s);
  if (t < 60) return `${t}s`;
  const m = Math.floor(t / 60);
  return m < 60 ? `${m}m${String(t % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * Progress on stderr: stage, done/total and ETA. On a terminal one line is
 * redrawn in place; in a log (not a terminal) a line is written when a stage
 * starts and ends, and every few seconds in between.
 */
export function progressPrinter(stream: ProgressStream = process.stderr, now: () => number = Date.now, logEveryMs = 5000) {
  let last = '';
  let stage = '';
  let stageStart = 0;
  let lastLogged = 0;
  return {
    update(stageName: string, done: number, total: number) {
      const t = now();
      if (stageName !== stage) {
        stage = stageName;
        stageStart = t;
        lastLogged = 0;
      }
      const pct = total > 0 ? Math.floor((done / total) * 100) : 0;
      const width = 24;
      const filled = Math.round((pct / 100) * width);
      const eta = etaSeconds(t - stageStart, done, total);
      const line = `${stageName} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${eta !== undefined ? ` ETA ${formatEta(eta)}` : ''}`;
      if (line === last) return;
      last = line;
      if (stream.isTTY) stream.write(`\r${line}\x1b[K`);
      else if (done === 0 || done === total || t - lastLogged >= logEveryMs) {
        lastLogged = t;
        stream.write(line + '\n');
      }
    },
    end() {
      if (stream.isTTY && last) stream.write('\n');
      last = '';
      stage = '';
    },
  };
}
