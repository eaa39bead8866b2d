#!/usr/bin/env node
// The `qtune` command. In a source checkout it runs the TypeScript sources
// through tsx (never a stale bundle); in a packaged app it runs the bundle.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'cli', 'index.ts');
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else {
  await import(pathToFileURL(join(root, 'out', 'main', 'cli.js')).href);
}
