// `npm run bench`: runs every bench/*.bench.ts in turn. Each bench measures
// its subject against a baseline run in the same process and prints ratios,
// never bare wall-clock targets.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

if (files.length === 0) {
  console.log('no benchmarks yet');
}
for (const file of files) {
  console.log(`\n## ${file.replace(/\.bench\.ts$/, '')}`);
  const mod = await import(pathToFileURL(join(here, file)).href);
  await mod.default();
}
