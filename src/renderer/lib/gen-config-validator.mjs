// Writes config-validator.generated.js: the config.json schema compiled by ajv
// ahead of time. The renderer's Content-Security-Policy forbids eval, which
// ajv's runtime compiler needs, so the app ships the compiled function instead.
// Run after changing src/shared/config-schema.ts:
//   npx tsx src/renderer/lib/gen-config-validator.mjs
// (config-validation.test.ts fails while the generated file is stale.)
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateValidatorSource } from './config-validator-source.mjs';

const out = fileURLToPath(new URL('./config-validator.generated.js', import.meta.url));
writeFileSync(out, generateValidatorSource());
console.log(`wrote ${out}`);
