// Lint rules, chiefly the import boundaries of ../shared/design/architecture.md:
// each folder may import only the folders named in its row of the table.
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import svelteParser from 'svelte-eslint-parser';

const folders = ['shared', 'engine', 'worker', 'backend', 'main', 'preload', 'server', 'cli', 'renderer'];

/** folder -> folders it may import (besides itself) */
const allowed = {
  shared: [],
  engine: ['shared'],
  worker: ['engine', 'shared'],
  backend: ['shared'],
  main: ['backend', 'shared'],
  preload: ['shared'],
  server: ['backend', 'shared'],
  cli: ['engine', 'backend', 'shared', 'server'],
  renderer: ['shared'],
};

/** Node and Electron modules that a folder must not reach for. */
const forbiddenPackages = {
  shared: ['electron', 'node:*', 'fs', 'path', 'onnxruntime-node'],
  engine: ['electron'],
  worker: ['electron'],
  backend: ['electron'],
  server: ['electron'],
  cli: ['electron'],
  renderer: ['electron', 'node:*', 'fs', 'path', 'child_process', 'onnxruntime-node', 'sharp'],
};

function boundaryRule(folder) {
  const forbidden = folders.filter((f) => f !== folder && !allowed[folder].includes(f));
  const patterns = forbidden.map((f) => ({
    group: [`**/${f}`, `**/${f}/**`, `*/src/${f}/**`],
    message: `src/${folder} may not import src/${f} (see architecture.md: ${folder} may import ${allowed[folder].join(', ') || 'nothing'}).`,
  }));
  for (const pkg of forbiddenPackages[folder] ?? []) {
    patterns.push({ group: [pkg], message: `src/${folder} may not import ${pkg}.` });
  }
  return {
    files: [`src/${folder}/**/*.ts`, `src/${folder}/**/*.svelte`],
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  };
}

export default [
  {
    ignores: ['out/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'e2e/artifacts/**', 'resources/**', 'test/fixtures/**/*.json'],
  },
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parser: svelteParser, parserOptions: { parser: tseslint.parser } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  ...folders.map(boundaryRule),
];
