import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../engine/data/npy';
import { parseRecord } from '../../engine/quant/record';

const run = promisify(execFile);
const ROOT = process.cwd();
const LENET = join(ROOT, 'test/fixtures/models/lenet_mnist.onnx');
const CALIB = join(ROOT, 'test/fixtures/data/mnist/calib_x.npy');
const tmp = mkdtempSync(join(tmpdir(), 'qtune-cli-calib-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function qtune(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [join(ROOT, 'bin/qtune.js'), ...args], { cwd: ROOT });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('qtune create-config / calibrate', () => {
  it('create-config then calibrate writes the outputs; --json summarises', async () => {
    const cfg = join(tmp, 'config.json');
    const c = await qtune('create-config', LENET, '-o', cfg, '--batch-num', '2', '--skip-layers', '/classifier/fc3/Gemm', '--activation-offset', 'false', '--no-fusion');
    expect(c.code).toBe(0);
    const json = JSON.parse(readFileSync(cfg, 'utf8'));
    expect(json.batch_num).toBe(2);
    expect(json.do_fusion).toBe(false);
    expect(json.activation_offset).toBe(false);
    expect(json['/classifier/fc3/Gemm'].quant_enable).toBe(false);

    const r = await qtune('calibrate', '--model', LENET, '--config', cfg, '--data', CALIB, '--save-path', join(tmp, 'out/lenet'), '--batch-size', '16', '--json');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.calibration).toMatchObject({ batches: 2, batchSize: 16, samples: 32 });
    expect(readdirSync(join(tmp, 'out')).sort()).toEqual(['lenet_config.json', 'lenet_fused_float.onnx', 'lenet_quant_model.onnx', 'lenet_record.txt', 'lenet_stats.json']);
    const record = parseRecord(readFileSync(join(tmp, 'out/lenet_record.txt'), 'utf8'));
    expect(record).toHaveLength(6);
    expect(record.every((e) => e.offsetD === 0)).toBe(true); // activation_offset false: symmetric
  }, 60_000);

  it('accepts AMCT flags: --data_dir of .bin batches with --input_shape, --batch_num', async () => {
    const x = await readNpy(CALIB);
    const dir = join(tmp, 'bins');
    mkdirSync(dir);
    for (let b = 0; b < 3; b++) {
      const part = (x.data as Float32Array).slice(b * 4 * 784, (b + 1) * 4 * 784);
      writeFileSync(join(dir, `batch_${b}.bin`), new Uint8Array(part.buffer));
    }
    const r = await qtune('calibrate', '--model', LENET, '--data_dir', dir, '--input_shape', 'input:4,1,28,28', '--data_types', 'float32', '--batch_num', '3', '--save-path', join(tmp, 'amct/m'), '--json');
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).calibration).toMatchObject({ batches: 3, batchSize: 4, samples: 12 });
  }, 60_000);

  it('errors are one clear line: unknown layer in the config, too few samples', async () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ version: 1, '/features/conv1/Cnv': {} }));
    const r = await qtune('calibrate', '--model', LENET, '--config', bad, '--data', CALIB, '--save-path', join(tmp, 'bad/m'));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^qtune: error: .*"\/features\/conv1\/Cnv" is not a quantizable layer of the model; closest: "\/features\/conv1\/Conv"/);
    expect(existsSync(join(tmp, 'bad'))).toBe(false);
    const few = await qtune('calibrate', '--model', LENET, '--data', CALIB, '--save-path', join(tmp, 'few/m'), '--batch_num', '9', '--batch-size', '32');
    expect(few.code).toBe(1);
    expect(few.stderr).toMatch(/9 × 32 = 288 samples, but the data has 256/);
  }, 60_000);

  it('Ctrl+C mid-calibration: exits within a second with 130, writes nothing, leaves no partial files', async () => {
    const out = join(tmp, 'ctrlc');
    const child = spawn(process.execPath, [join(ROOT, 'bin/qtune.js'), 'calibrate', '--model', join(ROOT, 'test/fixtures/models/mobilenetv2_fmnist.onnx'),
      '--data', join(ROOT, 'test/fixtures/data/fmnist/eval_x.npy'), '--batch_num', '62', '--save-path', join(out, 'sub/m')], { cwd: ROOT });
    let stderr = '';
    const exited = new Promise<{ code: number | null; at: number }>((done) => child.on('exit', (code) => done({ code, at: Date.now() })));
    // wait until calibration runs (its progress line), then interrupt
    await new Promise<void>((ready, failed) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/calibrate \[/.test(stderr)) ready();
      });
      child.on('exit', () => failed(new Error(`calibrate ended before it was interrupted: ${stderr}`)));
    });
    const sent = Date.now();
    child.kill('SIGINT');
    const { code, at } = await exited;
    expect(code).toBe(130);
    expect(at - sent).toBeLessThan(1000);
    expect(existsSync(out)).toBe(false);
    // the process doing the work is gone too: nothing appears afterwards
    await new Promise((r) => setTimeout(r, 1500));
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});
