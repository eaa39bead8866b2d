// qtune evaluate as a user runs it: custom metric modules in every form node
// loads, and AMCT .bin folders with the same data flags as calibrate.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../engine/data/npy';
import { errorLines, QTUNE_BIN, qtuneSync } from '../testing';

const LENET = resolve('test/fixtures/models/lenet_mnist.onnx');
const X = resolve('test/fixtures/data/mnist/eval_x.npy');
const Y = resolve('test/fixtures/data/mnist/eval_y.npy');
const tmp = mkdtempSync(join(tmpdir(), 'qtune-cli-eval-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// top-1 written by hand, so the value shows the module really ran
const BODY = `
  let n = 0, ok = 0;
  function batch(outputs, labels, indices) {
    const o = Object.values(outputs)[0];
    const k = o.dims[1];
    for (let i = 0; i < indices.length; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (o.data[i * k + j] > o.data[i * k + best]) best = j;
      if (best === labels[i]) ok++;
      n++;
    }
  }
  function finish() { return { value: (100 * ok) / n }; }
`;
const ESM = `${BODY}\nexport { batch, finish };\n`;
// method shorthand: node cannot guess these export names, the module's default export holds them
const CJS = `${BODY}\nmodule.exports = { batch(o, l, i) { return batch(o, l, i); }, finish() { return finish(); } };\n`;

function evaluateWith(metric: string): { code: number | null; value?: number; stderr: string } {
  const r = qtuneSync(['evaluate', '--model', LENET, '--data', X, '--labels', Y, '--limit', '200', '--metric', `custom:${metric}`, '--json']);
  return { code: r.code, value: r.code === 0 ? JSON.parse(r.stdout).value : undefined, stderr: r.stderr };
}

describe('qtune evaluate --metric custom:<module>', () => {
  const top1 = () => JSON.parse(qtuneSync(['evaluate', '--model', LENET, '--data', X, '--labels', Y, '--limit', '200', '--json']).stdout).value as number;
  let expected = 0;
  beforeAll(() => {
    expected = top1();
  });

  it('loads an ES module named metric.js outside any package (the README example)', () => {
    const dir = join(tmp, 'esm-js');
    mkdirSync(dir);
    writeFileSync(join(dir, 'metric.js'), ESM);
    const r = evaluateWith(join(dir, 'metric.js'));
    expect(r.stderr).not.toMatch(/error/);
    expect(r.value).toBe(expected);
  });

  it('loads it by a relative path, with top-level await and a relative import of another .js module', () => {
    const dir = join(tmp, 'esm-imports');
    mkdirSync(dir);
    writeFileSync(join(dir, 'helper.js'), 'export const scale = 1;\n');
    writeFileSync(join(dir, 'metric.js'), `import { scale } from './helper.js';\nawait Promise.resolve();\n${BODY.replace('(100 * ok) / n', '(100 * ok * scale) / n')}\nexport { batch, finish };\n`);
    const r = qtuneSync(['evaluate', '--model', LENET, '--data', X, '--labels', Y, '--limit', '200', '--metric', 'custom:metric.js', '--json'], { cwd: dir });
    expect(r.stderr).not.toMatch(/error/);
    expect(JSON.parse(r.stdout).value).toBe(expected);
  });

  it('loads CommonJS .js, .cjs, .mjs and .js under "type": "module"', () => {
    const cases: [string, string, Record<string, string>?][] = [
      ['cjs-js/metric.js', CJS],
      ['cjs/metric.cjs', CJS],
      ['mjs/metric.mjs', ESM],
      ['typed/metric.js', ESM, { 'typed/package.json': '{ "type": "module" }' }],
    ];
    for (const [file, text, extra] of cases) {
      mkdirSync(join(tmp, file, '..'), { recursive: true });
      writeFileSync(join(tmp, file), text);
      for (const [f, t] of Object.entries(extra ?? {})) writeFileSync(join(tmp, f), t);
      const r = evaluateWith(join(tmp, file));
      expect({ file, stderr: r.stderr.includes('error') ? r.stderr : '', value: r.value }).toEqual({ file, stderr: '', value: expected });
    }
  });
});

describe('qtune evaluate on AMCT .bin batches', () => {
  it('takes --input_shape and --data_types like calibrate; without the shape the hint names --input_shape', async () => {
    const x = await readNpy(X);
    const y = await readNpy(Y);
    const dir = join(tmp, 'bins');
    mkdirSync(dir);
    for (let b = 0; b < 3; b++) {
      const part = (x.data as Float32Array).slice(b * 4 * 784, (b + 1) * 4 * 784);
      writeFileSync(join(dir, `batch_${b}.bin`), new Uint8Array(part.buffer));
    }
    const labels = join(tmp, 'bin_labels.txt');
    writeFileSync(labels, Array.from((y.data as BigInt64Array).slice(0, 12), String).join('\n') + '\n');
    const fromNpy = qtuneSync(['evaluate', '--model', LENET, '--data', X, '--labels', Y, '--limit', '12', '--json']);
    const r = qtuneSync(['evaluate', '--model', LENET, '--data', dir, '--labels', labels, '--input_shape', 'input:4,1,28,28', '--data_types', 'float32', '--json']);
    expect(r.stderr).not.toMatch(/error/);
    expect(JSON.parse(r.stdout).result.samples).toBe(12);
    expect(JSON.parse(r.stdout).value).toBe(JSON.parse(fromNpy.stdout).value);

    const bare = qtuneSync(['evaluate', '--model', LENET, '--data', dir, '--labels', labels]);
    expect(bare.code).toBe(1);
    expect(errorLines(bare)).toHaveLength(1);
    const flag = /(--[\w-]+) "?input:/.exec(bare.stderr)?.[1];
    expect(flag).toBe('--input_shape');
    expect(qtuneSync(['evaluate', '--help']).stdout).toContain(`${flag} <`);
  });
});

describe('text labels for a custom evaluator', () => {
  it('a .txt of digit names reaches batch() as strings, one per sample; classification refuses them', async () => {
    const y = await readNpy(Y);
    const names = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
    const n = Number(y.shape[0]);
    const words = join(tmp, 'words.txt');
    // the first line is text too: no header in a one-label-per-line file of text labels
    writeFileSync(words, `${Array.from({ length: n }, (_, i) => names[Number((y.data as BigInt64Array)[i])]).join('\n')}\n`);
    const mod = join(tmp, 'words.mjs');
    writeFileSync(
      mod,
      `const names = ${JSON.stringify(names)};
       let n = 0, ok = 0, kinds = new Set();
       export function batch(outputs, labels, indices) {
         const o = outputs.logits;
         for (let i = 0; i < indices.length; i++) {
           kinds.add(typeof labels[i]);
           let best = 0;
           for (let j = 1; j < 10; j++) if (o.data[i * 10 + j] > o.data[i * 10 + best]) best = j;
           if (names[best] === labels[i]) ok++;
           n++;
         }
       }
       export function finish() { return { value: (100 * ok) / n, details: { n, kinds: [...kinds] } }; }`,
    );
    const r = qtuneSync(['evaluate', '--model', LENET, '--data', X, '--labels', words, '--metric', `custom:${mod}`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    // LeNet's float top-1 on this split (test/fixtures/README.md), read through the words
    expect(out.value).toBeCloseTo(98.55, 5);
    expect(out.result.custom.details).toEqual({ n, kinds: ['string'] });
    const top1 = qtuneSync(['evaluate', '--model', LENET, '--data', X, '--labels', words]);
    expect(top1.code).not.toBe(0);
    expect(errorLines(top1)[0]).toMatch(/^qtune: error: classification accuracy needs integer class labels; these labels are text/);
  });
});

describe('qtune evaluate and Ctrl+C', () => {
  it('stops within the batch it is in: exit 130, one line saying so, nothing printed as a result', async () => {
    const model = resolve('test/fixtures/models/mobilenetv2_fmnist.onnx');
    // the whole evaluation set as one batch: without slices, Ctrl+C would wait for all of it
    const child = spawn(process.execPath, [QTUNE_BIN, 'evaluate', '--model', model, '--data', resolve('test/fixtures/data/fmnist/eval_x.npy'),
      '--labels', resolve('test/fixtures/data/fmnist/eval_y.npy'), '--batch-size', '2000']);
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<{ code: number | null; at: number }>((done) => child.on('exit', (code) => done({ code, at: Date.now() })));
    await new Promise<void>((ready, failed) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/evaluate \[/.test(stderr)) ready();
      });
      child.on('exit', () => failed(new Error(`evaluate ended before it was interrupted: ${stderr}`)));
    });
    const sent = Date.now();
    child.kill('SIGINT');
    const { code, at } = await exited;
    expect(code).toBe(130);
    expect(at - sent).toBeLessThan(1000);
    expect(stderr.trim().split('\n').at(-1)).toBe('qtune: error: cancelled by the user');
    expect(stdout).toBe('');
  }, 60_000);
});
