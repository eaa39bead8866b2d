// A fully convolutional model (dynamic height and width) on an image folder
// whose images all differ in size, through the CLI: the size policy chosen by
// the user is used by calibration, evaluation and analysis alike.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { errorLines, qtuneSync } from './testing';

const fcn = resolve('test/fixtures/models/fcn_mnist.onnx');
const images = resolve('test/fixtures/data/mnist/sizes_png');
const labels = join(images, 'labels.csv');
const gray = ['--color', 'gray', '--scale', String(1 / 255)];

describe('images of different sizes for a fully convolutional model', () => {
  it('batch-of-one: calibrate on 96 images at their own sizes, evaluate and analyze the same way', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-sizes-'));
    const plain = qtuneSync(['evaluate', '--model', fcn, '--data', images, '--labels', labels, ...gray]);
    expect(plain.code).not.toBe(0);
    expect(errorLines(plain)).toHaveLength(1);
    expect(plain.stderr).toMatch(/images differ in size: run each at its own size with --sizes batch-of-one/);

    const cal = qtuneSync(['calibrate', '--model', fcn, '--data', images, ...gray, '--sizes', 'batch-of-one', '--batch-size', '96', '--save-path', join(dir, 'fcn'), '--json']);
    expect(cal.code, cal.stderr).toBe(0);
    const stats = JSON.parse(readFileSync(join(dir, 'fcn_stats.json'), 'utf8'));
    expect(stats.samples).toBe(96);
    // the first layer's input statistics hold every pixel of the 96 images (Σ h·w = 101,947, see train_fcn.py), not 96 × one size
    expect(stats.layers[0].count).toBe(101_947);

    const ev = qtuneSync(['evaluate', '--model', join(dir, 'fcn_quant_model.onnx'), '--reference', fcn, '--data', images, '--labels', labels, ...gray, '--sizes', 'batch-of-one', '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const r = JSON.parse(ev.stdout);
    expect(r.result.samples).toBe(160);
    expect(r.reference.value).toBeCloseTo(74.375, 5); // torch's figure on the same files (train_fcn.py)
    expect(Math.abs(r.value - r.reference.value)).toBeLessThan(3);

    const an = qtuneSync(['analyze', '--float', fcn, '--quant', join(dir, 'fcn_quant_model.onnx'), '--data', images, ...gray, '--sizes', 'batch-of-one', '--samples', '12', '--out', join(dir, 'report')]);
    expect(an.code, an.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'report', 'analysis.json'), 'utf8'));
    expect(JSON.stringify(report)).toContain('/features/features.4/Conv');
  });

  it('letterbox to a size the user sets, from the CLI and from a manifest, gives the same figure', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-sizes-'));
    const flag = qtuneSync(['evaluate', '--model', fcn, '--data', images, '--labels', labels, ...gray, '--sizes', 'letterbox:40x40', '--batch-size', '32', '--json']);
    expect(flag.code, flag.stderr).toBe(0);
    const manifest = join(dir, 'data.json');
    writeFileSync(manifest, JSON.stringify({
      inputs: { input: { images, preprocess: { color: 'gray', scale: 1 / 255 }, sizes: { letterbox: { width: 40, height: 40 } } } },
      labels: { csv: labels },
    }));
    const man = qtuneSync(['evaluate', '--model', fcn, '--data', manifest, '--batch-size', '32', '--json']);
    expect(man.code, man.stderr).toBe(0);
    expect(JSON.parse(man.stdout).value).toBe(JSON.parse(flag.stdout).value);
    expect(JSON.parse(flag.stdout).result.samples).toBe(160);

    const both = qtuneSync(['evaluate', '--model', fcn, '--data', images, ...gray, '--sizes', 'letterbox:40x40', '--resize', '32']);
    expect(errorLines(both)).toEqual(['qtune: error: inputs.input.sizes: a letterbox sets the image size itself; remove preprocess.resize (or use sizes "batch-of-one")']);
    const bad = qtuneSync(['evaluate', '--model', fcn, '--data', images, '--sizes', 'letterbox:40']);
    expect(errorLines(bad)).toEqual(['qtune: error: --sizes wants batch-of-one or letterbox:WxH (e.g. letterbox:640x640), got "letterbox:40"']);
    const npy = qtuneSync(['evaluate', '--model', fcn, '--data', resolve('test/fixtures/data/mnist/eval_x.npy'), '--sizes', 'batch-of-one']);
    expect(npy.stderr).toContain('a size policy (--sizes) applies only to image folders');
  });
});
