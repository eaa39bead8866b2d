// qtune analyze compares a quantized model with the float model it was made
// from, and nothing else: the quantized model records that model's content
// hash and the fusion applied, a different --float is refused, and a missing
// fused model is rebuilt the way the run built it.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, qtuneSync } from '../testing';

const SENSITIVE = resolve('test/fixtures/models/sensitive_fmnist.onnx');
const LENET = resolve('test/fixtures/models/lenet_mnist.onnx');
const CALIB = resolve('test/fixtures/data/fmnist/calib_x.npy');
const EVAL = resolve('test/fixtures/data/fmnist/eval_x.npy');
const tmp = mkdtempSync(join(tmpdir(), 'qtune-cli-analyze-'));
const quant = join(tmp, 'run/s_quant_model.onnx');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Report {
  referenceModel: string;
  suggestions: { layer: string; recommended: boolean }[];
  layers: { name: string; accumulatedCosine?: number; weight?: unknown }[];
}
const analyze = (...args: string[]) => qtuneSync(['analyze', '--quant', quant, '--data', EVAL, '--samples', '16', '--json', ...args]);
const recommended = (r: Report) => r.suggestions.filter((s) => s.recommended).map((s) => s.layer);

describe('qtune analyze checks the float model', () => {
  let withFused: Report;
  beforeAll(() => {
    const c = qtuneSync(['calibrate', '--model', SENSITIVE, '--data', CALIB, '--save-path', join(tmp, 'run/s')]);
    expect(c.code).toBe(0);
    // the run's own fused model, given explicitly, passes the check
    const r = analyze('--float', SENSITIVE, '--fused', join(tmp, 'run/s_fused_float.onnx'), '--out', join(tmp, 'rep1'));
    expect(r.code).toBe(0);
    withFused = JSON.parse(r.stdout);
    expect(withFused.referenceModel).toMatch(/s_fused_float\.onnx$/);
  }, 240_000);

  it('refuses a float model the quantized model was not made from, naming both', () => {
    const r = analyze('--float', LENET, '--out', join(tmp, 'rep-wrong'));
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([expect.stringMatching(/lenet_mnist\.onnx is not the float model .*s_quant_model\.onnx was made from \(that was sensitive_fmnist\.onnx/)]);
    // a copy of the right model is the right model (content, not name)
    const copy = join(tmp, 'renamed.onnx');
    copyFileSync(SENSITIVE, copy);
    expect(analyze('--float', copy, '--out', join(tmp, 'rep-copy')).code).toBe(0);
    // the run's own fused float model is a float model it was made from too (the app passes that one)
    const fused = analyze('--float', join(tmp, 'run/s_fused_float.onnx'), '--out', join(tmp, 'rep-fused'));
    expect(fused.code).toBe(0);
    expect(JSON.parse(fused.stdout).referenceModel).toMatch(/s_fused_float\.onnx$/);
  });

  it('without the fused file beside --quant, fuses the float model as the run did: the same findings', () => {
    rmSync(join(tmp, 'run/s_fused_float.onnx'));
    const r = analyze('--float', SENSITIVE, '--out', join(tmp, 'rep2'));
    expect(r.code).toBe(0);
    const rebuilt: Report = JSON.parse(r.stdout);
    expect(rebuilt.referenceModel).toMatch(/sensitive_fmnist\.onnx \(fused as the run did\)/);
    expect(recommended(rebuilt)).toEqual(['/features/b0/block/project/conv/Conv', '/features/b2/block/project/conv/Conv']);
    expect(recommended(rebuilt)).toEqual(recommended(withFused));
    expect(rebuilt.layers.map((l) => l.accumulatedCosine)).toEqual(withFused.layers.map((l) => l.accumulatedCosine));
  });

  it('refuses a --fused model that is not the run\'s', () => {
    const r = analyze('--float', SENSITIVE, '--fused', SENSITIVE, '--out', join(tmp, 'rep3'));
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([expect.stringMatching(/sensitive_fmnist\.onnx is not the fused float model of the run/)]);
  });

  it('the record is in the quantized model\'s metadata_props', () => {
    const bytes = readFileSync(quant).toString('latin1');
    expect(bytes).toContain('qtune.float_model.sha256');
    expect(bytes).toContain('qtune.fusion');
  });
});
