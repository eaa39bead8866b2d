// How the CLI talks: results on stdout (JSON with --json), progress and errors
// on stderr, one line per error with no stack trace.

import { QtuneError } from '../shared/errors';

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function fail(err: unknown): never {
  const msg = err instanceof QtuneError || err instanceof Error ? err.message : String(err);
  process.stderr.write(`qtune: error: ${msg.split('\n')[0]}\n`);
  if (process.env.QTUNE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(err instanceof QtuneError && err.code === 'cancelled' ? 130 : 1);
}

/** A one-line progress bar on stderr, redrawn in place on a terminal. */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr) {
  let last = '';
  return {
    update(stage: string, done: number, total: number, etaSeconds?: number) {
      const pct = total > 0 ? Math.floor((done / total) * 100) : 0;
      const width = 24;
      const filled = Math.round((pct / 100) * width);
      const eta = etaSeconds !== undefined ? ` ETA ${Math.ceil(etaSeconds)}s` : '';
      const line = `${stage} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${eta}`;
      if (line === last) return;
      last = line;
      if (stream.isTTY) stream.write(`\r${line}\x1b[K`);
      else if (done === total || done === 0) stream.write(line + '\n');
    },
    end() {
      if (stream.isTTY && last) stream.write('\n');
      last = '';
    },
  };
}
