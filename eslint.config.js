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
  engine: ['electron', 'onnxruntime-node'],
  worker: ['electron', 'onnxruntime-node'],
  backend: ['electron', 'onnxruntime-node'],
  main: ['onnxruntime-node'],
  preload: ['onnxruntime-node'],
  server: ['electron', 'onnxruntime-node'],
  cli: ['electron', 'onnxruntime-node'],
  renderer: ['electron', 'node:*', 'fs', 'path', 'child_process', 'onnxruntime-node', 'sharp'],
};

/**
 * Folders inside a folder that are allowed a package the folder forbids: the ONNX layer is the one place that
 * imports onnxruntime-node (sessions, tensors, reductions); the rest of the engine reaches it through '../onnx'.
 */
const packageExceptions = {
  engine: { 'src/engine/onnx': ['onnxruntime-node'] },
};

function boundaryRules(folder) {
  const base = boundaryRule(folder, forbiddenPackages[folder] ?? []);
  const exceptions = Object.entries(packageExceptions[folder] ?? {});
  if (exceptions.length === 0) return [base];
  base.ignores = exceptions.map(([dir]) => `${dir}/**`);
  return [
    base,
    ...exceptions.map(([dir, packages]) => ({
      ...boundaryRule(folder, (forbiddenPackages[folder] ?? []).filter((p) => !packages.includes(p))),
      files: [`${dir}/**/*.ts`],
    })),
  ];
}

function boundaryRule(folder, packages) {
  const forbidden = folders.filter((f) => f !== folder && !allowed[folder].includes(f));
  const patterns = forbidden.map((f) => ({
    group: [`**/${f}`, `**/${f}/**`, `*/src/${f}/**`],
    message: `src/${folder} may not import src/${f} (see architecture.md: ${folder} may import ${allowed[folder].join(', ') || 'nothing'}).`,
  }));
  for (const pkg of packages) {
    const message = pkg === 'onnxruntime-node' && folder !== 'engine'
      ? `src/${folder} may not import onnxruntime-node (only src/engine/onnx does).`
      : pkg === 'onnxruntime-node'
        ? 'only src/engine/onnx imports onnxruntime-node: import { ort, createSession, toOrtFeeds, … } from the ONNX layer.'
        : `src/${folder} may not import ${pkg}.`;
    patterns.push({ group: [pkg], message });
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
  ...folders.flatMap(boundaryRules),
];
