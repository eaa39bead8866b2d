// Workers under Electron: utilityProcess, the Electron-native child process
// (same messaging model as fork, no second copy of Electron's renderer bits).

import { utilityProcess } from 'electron';
import type { WorkerChannel, WorkerLauncher } from '../backend/worker-launcher';
import type { FromWorker } from '../shared/worker-protocol';

export function utilityLauncher(entry: string): WorkerLauncher {
  return (): WorkerChannel => {
    const child = utilityProcess.fork(entry, [], { stdio: ['ignore', 'inherit', 'pipe'], serviceName: 'qtune worker' });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    return {
      send: (msg) => child.postMessage(msg),
      onMessage: (cb) => child.on('message', (m) => cb(m as FromWorker)),
      onExit: (cb) => child.on('exit', (code) => cb(code)),
      stderrTail: () => stderr,
      kill: () => {
        child.kill();
      },
      get pid() {
        return child.pid;
      },
    };
  };
}
