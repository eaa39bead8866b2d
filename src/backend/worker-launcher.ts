// How a worker process is started. Under plain Node it is child_process.fork;
// under Electron, main supplies a launcher built on utilityProcess. The job
// manager sees only WorkerChannel.

import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FromWorker, ToWorker } from '../shared/worker-protocol';

export interface WorkerChannel {
  send(msg: ToWorker): void;
  onMessage(cb: (msg: FromWorker) => void): void;
  onExit(cb: (code: number | null) => void): void;
  /** stderr text collected so far, to explain a crash */
  stderrTail(): string;
  kill(): void;
  /** the worker's process id, where the host knows it */
  readonly pid?: number;
}

export type WorkerLauncher = () => WorkerChannel;

export interface WorkerEntry {
  /** the worker's entry file */
  file: string;
  /** extra Node flags: running from source needs the tsx loader */
  execArgv: string[];
}

/**
 * Where the worker lives: beside the bundle in a build (out/main/worker.js),
 * or its TypeScript source when running from source (tests, the CLI under tsx).
 */
export function defaultWorkerEntry(): WorkerEntry {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    return { file: join(dirname(here), '..', 'worker', 'index.ts'), execArgv: ['--import', tsxLoaderUrl()] };
  }
  // Bundled: this code may sit in a shared chunk one folder below the entries.
  for (const dir of [dirname(here), join(dirname(here), '..')]) {
    const file = join(dir, 'worker.js');
    if (existsSync(file)) return { file, execArgv: [] };
  }
  throw new Error(`qtune worker bundle not found near ${here}; run "npm run build"`);
}

/**
 * tsx from qtune's own installation, as an absolute file URL. A bare "tsx"
 * would be looked up from the folder qtune was started in, where a planted
 * node_modules/tsx would run as the worker (or none would be found at all).
 */
export function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

export function forkLauncher(entry: WorkerEntry = defaultWorkerEntry()): WorkerLauncher {
  return () => {
    const child = fork(entry.file, [], {
      execArgv: [...entry.execArgv, '--max-old-space-size=8192'],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
      process.stderr.write(chunk);
    });
    return {
      send: (msg) => {
        if (child.connected) child.send(msg);
      },
      onMessage: (cb) => child.on('message', (m) => cb(m as FromWorker)),
      onExit: (cb) => child.on('exit', (code) => cb(code)),
      stderrTail: () => stderr,
      kill: () => {
        child.kill('SIGKILL');
      },
      pid: child.pid,
    };
  };
}
