// Where the engine's worker threads start from (the calibration's folding
// threads, the analyzer's comparison threads).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface ThreadEntry {
  /** a file to run, or (eval) a script */
  script: string;
  eval: boolean;
}

/**
 * How to start the worker thread `name` that sits beside the module at `callerUrl` (its import.meta.url): the
 * bundled entry beside that code in a build, or the TypeScript source through qtune's own tsx when running from
 * source (a bare "tsx" would be looked up from the user's folder). Node 20 does not apply `--import` loaders to
 * a worker's own entry, so the source case starts a one-line script that imports it through tsx's API.
 * Undefined when a build lacks the entry (the caller then works on its own thread).
 */
export function threadEntry(callerUrl: string, name: string): ThreadEntry | undefined {
  const here = fileURLToPath(callerUrl);
  if (here.endsWith('.ts')) {
    const api = import.meta.resolve('tsx/esm/api');
    const source = pathToFileURL(join(dirname(here), `${name}.ts`)).href;
    return { script: `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(source)}, ${JSON.stringify(source)}))`, eval: true };
  }
  // bundled: the calling code may sit in a shared chunk one folder below the entries
  for (const dir of [dirname(here), join(dirname(here), '..')]) {
    const file = join(dir, `${name}.js`);
    if (existsSync(file)) return { script: file, eval: false };
  }
  return undefined;
}
