// The exported int8 model as onnxruntime really runs it (graph optimisations
// on), measured side by side in this process with the float model and, where
// Python's onnxruntime is at hand, onnxruntime's own quantize_static output.
// Prints the speed-up of each against float (interleaved runs: a noisy machine
// slows all alike) and the simulation-vs-runtime parity of each int8 model.
//
// Targets: qtune's default int8 ResNet-50 >= 1.2x float and no slower than
// quantize_static; MobileNetV2 int8 no slower than float. qtune's default stores
// weights as uint8 where this CPU's int8-weight kernels saturate (x86 without
// VNNI): exact, but slower there; `--weights int8` is timed too.
//
// Needs the real-size bench models (.bench-cache/, made by
// test/fixtures/make/make_bench_models.py); skips, saying why, without them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readNpy, writeNpy } from '../src/engine/data/npy';
import { openDataset } from '../src/engine/data/dataset';
import { datasetFromShortForm } from '../src/engine/data/manifest';
import { firstFeeds } from '../src/engine/deploy/feeds';
import { measureInterleaved } from '../src/engine/deploy/latency';
import { u8s8IsExact } from '../src/engine/deploy/kernel-probe';
import { runtimeParity } from '../src/engine/eval/parity';
import { quantizeModel } from '../src/engine/quant/quantize';
import { ort } from '../src/engine/onnx';

const CACHE = resolve('.bench-cache');
const CALIB = Number(process.env.QTUNE_BENCH_CALIB ?? 32);
const EVAL = 64;
const BATCH = 32;
const REPS = Number(process.env.QTUNE_BENCH_REPS ?? 5);

function python(): string | { skip: string } {
  const py = process.env.QTUNE_BENCH_PYTHON ?? resolve('.venv-ort/bin/python');
  if (!existsSync(py)) {
    return { skip: `no Python with onnxruntime at ${py} (python3 -m venv .venv-ort && .venv-ort/bin/pip install onnxruntime onnx — from the wheels this machine carries; or set QTUNE_BENCH_PYTHON)` };
  }
  const r = spawnSync(py, ['-c', 'import onnxruntime, onnx'], { encoding: 'utf8' });
  if (r.status !== 0) return { skip: `${py} cannot import onnxruntime and onnx: ${(r.stderr || '').trim().split('\n').at(-1)}` };
  return py;
}

async function feedsFrom(path: string, inputs: readonly { name: string; dims: (number | string)[]; type: string }[], bs: number): Promise<Record<string, ort.Tensor>> {
  const ds = await openDataset(await datasetFromShortForm({ data: path, inputName: inputs[0].name }), { inputs: inputs.map((i) => ({ ...i })) });
  const feeds = await firstFeeds(ds, bs);
  if (!feeds) throw new Error(`${path}: no samples`);
  return feeds;
}

export default async function (): Promise<void> {
  if (!existsSync(join(CACHE, 'resnet50.onnx')) || !existsSync(join(CACHE, 'images224_x.npy'))) {
    console.log(`skipped: ${CACHE} has no bench models (make them with /usr/bin/python3 test/fixtures/make/make_bench_models.py)`);
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'qtune-bench-deploy-'));
  try {
    await benchModels(tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function benchModels(tmp: string): Promise<void> {
  const x = await readNpy(join(CACHE, 'images224_x.npy'));
  const per = 3 * 224 * 224;
  const all = x.data as Float32Array;
  const calib = join(tmp, 'calib.npy');
  const evalX = join(tmp, 'eval.npy');
  await writeNpy(calib, { dtype: 'float32', shape: [CALIB, 3, 224, 224], data: all.slice(0, CALIB * per) });
  await writeNpy(evalX, { dtype: 'float32', shape: [EVAL, 3, 224, 224], data: all.slice(512 * per, (512 + EVAL) * per) });
  const exact = await u8s8IsExact();
  console.log(`this CPU's onnxruntime uint8 x int8 kernels are ${exact ? 'exact (qtune stores int8 weights)' : 'saturating (no VNNI: qtune stores uint8 weights for the layers whose int8 kernel saturates on the calibration data)'}`);
  const py = python();
  if (typeof py !== 'string') console.log(`quantize_static: skipped: ${py.skip}`);

  for (const name of ['resnet50', 'mobilenetv2']) {
    const floatPath = join(CACHE, `${name}.onnx`);
    console.log(`\n${name}: calibration ${CALIB} samples (batch 16), latency at batch 1 and ${BATCH}, ${REPS} runs after 1 warm-up, parity on ${EVAL} samples`);
    const models: { label: string; path: string }[] = [{ label: 'float', path: floatPath }];
    for (const weights of ['auto', 'int8'] as const) {
      if (weights === 'int8' && exact) continue; // auto already is int8 here
      const t0 = performance.now();
      const r = await quantizeModel({ modelPath: floatPath, dataset: { data: calib }, outDir: tmp, name: `${name}_${weights}`, batchSize: 16, batchNum: Math.ceil(CALIB / 16), weights });
      console.log(`  qtune ${weights === 'auto' ? 'default' : '--weights int8'}: quantized in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      models.push({ label: weights === 'auto' ? 'qtune default' : 'qtune --weights int8', path: r.files.quantModel });
    }
    if (typeof py === 'string') {
      const out = join(tmp, `${name}_ort_static.onnx`);
      const r = spawnSync(py, [resolve('bench/deploy/quantize_static.py'), floatPath, calib, out], { encoding: 'utf8' });
      if (r.status === 0) models.push({ label: 'onnxruntime quantize_static', path: out });
      else console.log(`  quantize_static: skipped: it failed: ${(r.stderr || '').trim().split('\n').at(-1)}`);
    }
    const lat = await measureInterleaved(models.map((m) => m.path), {
      batchSizes: [1, BATCH], warmup: 1, repetitions: REPS, feedsFor: (bs, inputs) => feedsFrom(evalX, inputs, bs),
    });
    for (let i = 0; i < models.length; i++) {
      const cells = lat[i].stats.map((s, j) => {
        const ratio = lat[0].stats[j].medianMs / s.medianMs;
        return `batch ${s.batchSize}: ${s.medianMs.toFixed(1)} ms (p90 ${s.p90Ms.toFixed(1)})${i ? `, ${ratio.toFixed(2)}x float` : ''}`;
      });
      let parity = '';
      if (i > 0) {
        const ds = await openDataset(await datasetFromShortForm({ data: evalX, inputName: 'input' }), { inputs: [{ name: 'input', dims: ['batch', 3, 224, 224], type: 'float32' }] });
        const p = await runtimeParity({ modelPath: models[i].path, dataset: ds, batchSize: 16 });
        parity = `; parity ${p.top1Agreement.toFixed(1)}% agree, max diff ${p.maxAbsDiff.toPrecision(3)}`;
      }
      console.log(`  ${models[i].label.padEnd(30)} ${cells.join('; ')}${parity}`);
    }
    const qt = lat[1].stats.at(-1)!.medianMs;
    const fl = lat[0].stats.at(-1)!.medianMs;
    const target = name === 'resnet50' ? 1.2 : 1.0;
    console.log(`  ratio qtune default vs float at batch ${BATCH}: ${(fl / qt).toFixed(2)}x (target >= ${target})`);
    const ortIdx = models.findIndex((m) => m.label.startsWith('onnxruntime'));
    if (ortIdx > 0) console.log(`  ratio qtune default vs quantize_static at batch ${BATCH}: ${(lat[ortIdx].stats.at(-1)!.medianMs / qt).toFixed(2)}x (target >= 1)`);
  }
}
