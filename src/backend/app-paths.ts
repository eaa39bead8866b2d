// Where qtune's own files are: the built renderer and the bundled sample.
// Found by walking up to qtune's package.json, so it works from source, from
// the bundle in out/, and from an installed package alike.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface AppPaths {
  root: string;
  version: string;
  rendererDir: string;
  sampleDir: string;
}

export function findAppPaths(from = dirname(fileURLToPath(import.meta.url))): AppPaths {
  let dir = from;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const json = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
      if (json.name === 'qtune') {
        return {
          root: dir,
          version: json.version ?? '0.0.0',
          rendererDir: join(dir, 'out', 'renderer'),
          sampleDir: join(dir, 'resources', 'sample'),
        };
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`qtune's package.json not found above ${from}`);
    dir = up;
  }
}
