// Calibration cost, as what `qtune calibrate` does (fusion, calibration, IFMR, export, files) over one
// plain inference pass over the same samples (graph optimisations off), each in a process of its own so
// that peak RSS is the calibration's. Targets: ≤ 5× on the real-size models, ≤ 20× on the 28×28
// fixtures; peak RSS flat in the number of samples (ResNet-50 ≤ 1.5 GB at 32, 256 and 1024).
// The real-size models come from test/fixtures/make/make_bench_models.py (into .bench-cache/, or
// QTUNE_BENCH_DIR); without them those rows are skipped, saying so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';

const ROOT = process.cwd();
const CACHE = process.env.QTUNE_BENCH_DIR ?? join(ROOT, '.bench-cache');
const REPS = Number(process.env.QTUNE_BENCH_REPS ?? 2);

interface Measure { ms: number; maxRssMB: number; passes: number; stageMs?: Record<string, number> }

function child(args: string[]): Measure {
  return childJson(args) as Measure;
}

function childJson(args: string[]): unknown {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/calibrate-child.ts'), ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`calibration bench child failed: ${r.stderr.split('\n').filter(Boolean).slice(-3).join(' | ')}`);
  return JSON.parse(line);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** Ratio of calibration to plain inference, median over REPS alternating runs. */
function ratio(model: string, data: string, samples: number, batch: number, method?: string): { ratio: number; rss: number; passes: number; split: string } {
  const ratios: number[] = [];
  let rss = 0;
  let passes = 1;
  let split = '';
  for (let i = 0; i < REPS; i++) {
    const plain = child(['plain', model, data, String(samples), String(batch)]);
    const cal = child(['calibrate', model, data, String(samples), String(batch), ...(method ? ['--method', method] : [])]);
    ratios.push(cal.ms / plain.ms);
    rss = Math.max(rss, cal.maxRssMB);
    passes = cal.passes;
    // the stages of the run whose ratio is the median's (the lower one of two)
    if (cal.ms / plain.ms === median(ratios)) {
      split = Object.entries(cal.stageMs ?? {}).filter(([, ms]) => ms >= 0.05 * plain.ms).map(([s, ms]) => `${s} ${(ms / plain.ms).toFixed(1)}×`).join(', ');
    }
  }
  return { ratio: median(ratios), rss, passes, split };
}

export default async function (): Promise<void> {
  // other work on the machine moves the ratios: the load says how quiet it was
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
  const fixtures = [
    { model: 'lenet_mnist.onnx', data: 'mnist' },
    { model: 'mobilenetv2_fmnist.onnx', data: 'fmnist' },
    { model: 'sensitive_fmnist.onnx', data: 'fmnist' },
  ];
  for (const f of fixtures) {
    const model = join(ROOT, 'test/fixtures/models', f.model);
    if (!existsSync(model)) continue;
    const r = ratio(model, join(ROOT, 'test/fixtures/data', f.data, 'calib_x.npy'), 256, 32);
    console.log(`calibrate ${f.model}, 256 samples: ${r.ratio.toFixed(1)}× plain inference (target ≤ 20), ${r.passes} pass(es), peak RSS ${r.rss.toFixed(0)} MB`);
  }
  const data = join(CACHE, 'images224_x.npy');
  if (!existsSync(data)) {
    console.log(`calibrate real-size models: skipped, ${CACHE} has no bench models (make them with /usr/bin/python3 test/fixtures/make/make_bench_models.py)`);
    return;
  }
  for (const name of ['resnet50', 'mobilenetv2', 'efficientnet_b0']) {
    const model = join(CACHE, `${name}.onnx`);
    if (!existsSync(model)) {
      console.log(`calibrate ${name}: skipped, ${model} is missing`);
      continue;
    }
    for (const samples of [64, 256]) {
      const r = ratio(model, data, samples, 32);
      console.log(`calibrate ${name}, ${samples} samples: ${r.ratio.toFixed(1)}× plain inference (target ≤ 5), ${r.passes} pass(es), peak RSS ${r.rss.toFixed(0)} MB`);
      console.log(`  ${r.split}`);
    }
  }
  // The streaming choice must be the sort-based search's on the real-size models too (minutes: the held
  // reference holds every activation; QTUNE_BENCH_QUICK=1 leaves it out).
  if (!process.env.QTUNE_BENCH_QUICK) {
    for (const name of ['resnet50', 'mobilenetv2', 'efficientnet_b0']) {
      const model = join(CACHE, `${name}.onnx`);
      if (!existsSync(model)) continue;
      const c = childJson(['clips', model, data, '64', '32']) as { same: number; layers: number; differ: string[] };
      console.log(`calibrate ${name}, 64 samples: ${c.same} of ${c.layers} layers get the sort-based search's candidate (scale within 1e-6, same offset)${c.differ.length ? `; differ: ${c.differ.join(', ')}` : ''}`);
    }
  }
  // Peak memory must not grow with the calibration set.
  const resnet = join(CACHE, 'resnet50.onnx');
  if (existsSync(resnet)) {
    // 1024 samples take minutes (QTUNE_BENCH_QUICK=1 leaves them out)
    const rows = [32, 256, ...(process.env.QTUNE_BENCH_QUICK ? [] : [1024])].map((n) => ({ n, m: child(['calibrate', resnet, data, String(n), '32']) }));
    console.log(`load average now: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
    console.log(`calibrate resnet50 peak RSS: ${rows.map((r) => `${r.n} samples ${r.m.maxRssMB.toFixed(0)} MB`).join(', ')} (target ≤ 1536 MB, flat)`);
  }
}
