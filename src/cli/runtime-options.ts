// --threads and --ep: how every command that runs a model uses onnxruntime.
// Global options, so they go before or after the command name alike.
import type { Command } from 'commander';
import { setRuntimeDefaults } from '../engine/onnx';
import { fail } from './output';

export function addRuntimeOptions(program: Command): void {
  program
    .option('--threads <n>', 'onnxruntime intra-op threads (default: one per core)', (v) => Number(v))
    .option('--ep <name>', 'onnxruntime execution provider: cpu (default), or another this build has')
    .hook('preAction', (root) => {
      const o = root.opts<{ threads?: number; ep?: string }>();
      try {
        setRuntimeDefaults({ threads: o.threads, executionProvider: o.ep });
      } catch (err) {
        fail(err);
      }
    });
}
