import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Three builds. "main" bundles every Node-side entry: the Electron main
// process, the worker (forked per job), the CLI (which also serves the
// browser host), the calibration's folding thread and the analyzer's
// comparison thread. "preload" must be CommonJS because the window is sandboxed.
// "renderer" is the Svelte app, the same bundle for both hosts.
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: resolve('src/main/index.ts'),
          worker: resolve('src/worker/index.ts'),
          cli: resolve('src/cli/index.ts'),
          // the streaming calibration's folding threads (engine/quant/histogram-folding.ts finds it beside the bundle)
          'histogram-worker': resolve('src/engine/quant/histogram-worker.ts'),
          // the accumulated comparison's threads (engine/analyze/compare-threads.ts finds it likewise)
          'compare-worker': resolve('src/engine/analyze/compare-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve('src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'src/renderer',
    plugins: [svelte({ configFile: false })],
    build: {
      outDir: 'out/renderer',
      rollupOptions: { input: { index: resolve('src/renderer/index.html') } },
    },
    worker: { format: 'es' },
  },
});
