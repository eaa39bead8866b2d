// A model with two outputs (test/fixtures/models/twohead_mnist.onnx: class logits and a 16-value regression
// head) through the CLI as a user runs it, without labels: a similarity target for run and tune, and every
// output compared by evaluate, analyze and the parity check.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AnalysisReport } from '../shared/analysis-types';
import type { RunResult } from '../shared/run-types';
import { errorLines, qtuneSync } from './testing';

const model = resolve('test/fixtures/models/twohead_mnist.onnx');
const mnist = resolve('test/fixtures/data/mnist');
const calib = join(mnist, 'calib_x.npy');
const evalX = join(mnist, 'eval_x.npy');

describe('a two-output model without labels', () => {
  it('run --metric cosine --threshold: judged on the mean cosine of both outputs, each reported', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-twohead-run-'));
    const r = qtuneSync(['run', '--model', model, '--calib', calib, '--eval', evalX, '--metric', 'cosine', '--threshold', '0.999', '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^cosine of every output to the float model's: quantized 0\.999\d\d; target cosine ≥ 0\.99900 — meets the target$/m);
    const run = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Omit<RunResult, 'runId' | 'configId'>;
    expect(run.quant.metric).toBe('cosine');
    const outputs = run.quant.similarity!.outputs;
    expect(outputs.map((o) => o.name)).toEqual(['logits', 'features']);
    expect(run.quant.value).toBeCloseTo((outputs[0].cosine + outputs[1].cosine) / 2, 12);
    // the float model against itself
    expect(run.float.value).toBe(1);
    expect(run.judgement).toMatchObject({ meets: true, floatValue: 1 });

    // a target it cannot meet: exit code 2, the same figures
    const miss = qtuneSync(['run', '--model', model, '--calib', calib, '--eval', evalX, '--metric', 'sqnr', '--threshold', '60', '--out', join(dir, 'miss')]);
    expect(miss.code).toBe(2);
    expect(miss.stdout).toMatch(/target SQNR ≥ 60\.00 dB — misses the target/);
  });

  it('tune --metric sqnr --threshold 40: the default config misses, keeping one head layer in float meets it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-twohead-tune-'));
    const r = qtuneSync(['tune', '--model', model, '--calib', calib, '--eval', evalX, '--metric', 'sqnr', '--threshold', '40', '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^trial 1 \[start\] default config: every quantizable layer in int8: sqnr 3\d\.\d\d dB misses the target; 0 layers in float$/);
    expect(r.stdout).toMatch(/^meets the target with 1 layer in float: \S+: int8 sqnr (4\d|[5-9]\d)\.\d\d dB, trial \d+$/m);
  });

  it('refuses an MSE target without a threshold, and a threshold with an accuracy metric', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-twohead-bad-'));
    const mse = qtuneSync(['tune', '--model', model, '--calib', calib, '--eval', evalX, '--metric', 'mse', '--out', dir]);
    expect(mse.code).not.toBe(0);
    expect(errorLines(mse)).toEqual(['qtune: error: --metric mse needs --threshold <x> (the largest MSE you accept; it depends on the scale of your outputs)']);
    const top1 = qtuneSync(['run', '--model', model, '--calib', calib, '--eval', evalX, '--labels', join(mnist, 'eval_y.npy'), '--threshold', '0.99', '--out', dir]);
    expect(errorLines(top1)).toEqual(['qtune: error: --threshold goes with --metric cosine, sqnr or mse; for --metric top1 the target is --max-drop']);
    const cos = qtuneSync(['run', '--model', model, '--calib', calib, '--eval', evalX, '--metric', 'cosine', '--threshold', '1.5', '--out', dir]);
    expect(errorLines(cos)).toEqual(['qtune: error: --threshold wants a cosine between 0 and 1, got "1.5"']);
  });

  it('analyze compares both outputs, and output sensitivity says what each layer does to each output', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-twohead-analyze-'));
    const cal = qtuneSync(['calibrate', '--model', model, '--data', calib, '--save-path', join(dir, 'th')]);
    expect(cal.code, cal.stderr).toBe(0);
    const quant = join(dir, 'th_quant_model.onnx');
    const a = qtuneSync(['analyze', '--float', model, '--quant', quant, '--data', evalX, '--samples', '64', '--output-sensitivity', '--out', join(dir, 'report')]);
    expect(a.code, a.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'report', 'analysis.json'), 'utf8')) as AnalysisReport;
    expect(report.outputs.map((o) => o.name)).toEqual(['logits', 'features']);
    const layer = (name: string) => report.layers.find((l) => l.name === name)!.output!;
    // the regression head's last layer, quantized alone, leaves the class logits exactly as they were
    const reg = layer('/regressor/fc2/Gemm');
    expect(reg.perOutput!.map((o) => o.name)).toEqual(['logits', 'features']);
    expect(reg.perOutput![0].onlyThisCosine).toBe(1);
    expect(reg.perOutput![1].onlyThisCosine).toBeLessThan(1);
    expect(reg.onlyThisCosine).toBeCloseTo((1 + reg.perOutput![1].onlyThisCosine!) / 2, 12);
    // and the classifier's, the other way round
    const cls = layer('/classifier/fc2/Gemm');
    expect(cls.perOutput![1].onlyThisCosine).toBe(1);
    expect(cls.perOutput![0].onlyThisCosine).toBeLessThan(1);
  });

  it('evaluate --metric fidelity reports every output; --parity looks at every output for the largest difference', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-twohead-fid-'));
    const cal = qtuneSync(['calibrate', '--model', model, '--data', calib, '--save-path', join(dir, 'th')]);
    expect(cal.code, cal.stderr).toBe(0);
    const quant = join(dir, 'th_quant_model.onnx');
    const r = qtuneSync(['evaluate', '--model', quant, '--data', evalX, '--limit', '500', '--metric', 'fidelity', '--reference', model, '--parity']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}output cosine 0\.99\d+, SQNR \d+\.\d dB \(mean over 2 outputs\)$/m);
    expect(r.stdout).toMatch(/^ {2}logits: cosine 0\.99\d+, SQNR \d+\.\d\d dB, MSE \S+, top-1 agreement \d+\.\d\d%$/m);
    expect(r.stdout).toMatch(/^ {2}features: cosine 0\.99\d+, SQNR \d+\.\d\d dB, MSE \S+, top-1 agreement \d+\.\d\d%$/m);
    expect(r.stdout).toMatch(/runtime parity: .*largest output difference/);
  });
});
