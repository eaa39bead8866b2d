// The tuner against the one-layer-at-a-time strategy (NNCF's accuracy control:
// revert the most sensitive remaining layer to float, re-quantize, evaluate,
// until the target is met), on the bundled sample and the long-tail fixture,
// same data, same target (1 point), same ranking (isolated sensitivity). Prints
// evaluations used and wall time as ratios (tuner / baseline), and how many
// layers each leaves in float. QTUNE_BENCH_REPS=n repeats and quotes medians.
// The tuner also spends time on probes (128 calibration samples each) that are
// no evaluation; on these small models an evaluation of 2,000 samples costs
// about as much as a probe, so wall time favours it less than evaluations do;
// on a real evaluation set an evaluation costs far more than a probe.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CalibrationCache } from '../src/engine/pipeline/calibration-cache';
import { IsolatedProbe } from '../src/engine/pipeline/probes';
import { evaluateWith, runTrial, type EvaluationSetup } from '../src/engine/pipeline/trial';
import { tune } from '../src/engine/pipeline/tuner';
import { loadModel } from '../src/engine/onnx';
import { openDataFor } from '../src/engine/data/for-model';
import { configModelOf, resolveQuantConfig } from '../src/engine/quant/quantize';

const ROOT = process.cwd();
const CASES = [
  { name: 'sample', model: 'resources/sample/sensitive_fmnist.onnx', data: 'resources/sample' },
  { name: 'longtail', model: 'test/fixtures/models/longtail_mnist.onnx', data: 'test/fixtures/data/mnist' },
];
const REPS = Number(process.env.QTUNE_BENCH_REPS ?? 1);

interface Outcome { evaluations: number; ms: number; floatLayers: number; meets: boolean }

function setup(data: string): EvaluationSetup {
  return { data: join(data, 'eval_x.npy'), labels: join(data, 'eval_y.npy'), metric: 'classification', batchSize: 100, target: { mode: 'absolute', points: 1 } };
}

/** Revert one layer at a time, most sensitive first; each trial quantizes from scratch, as such tools do. */
async function oneAtATime(modelPath: string, data: string, dir: string): Promise<Outcome> {
  const t0 = performance.now();
  const model = loadModel(modelPath);
  const start = resolveQuantConfig(undefined, configModelOf(model));
  const calibration = await openDataFor(model, { data: join(data, 'calib_x.npy') });
  const evaluation = setup(data);
  const floatResult = await evaluateWith(modelPath, modelPath, evaluation, 'float');
  const trial = (config: typeof start, k: number) =>
    runTrial({ modelPath, config, calibration, calibrationBatchSize: 32, evaluation, outDir: join(dir, String(k)), floatResult });
  let evaluations = 1;
  let last = await trial(start, 0);
  const ranking = await new IsolatedProbe({ modelPath, calibration, calibrationBatchSize: 32, cache: new CalibrationCache(), scratchDir: dir }).measure(start);
  const order = [...ranking].sort((a, b) => a[1] - b[1]).map(([l]) => l);
  const config = structuredClone(start);
  let reverted = 0;
  while (!last.run.judgement.meets && reverted < order.length - 1) {
    config.layers[order[reverted++]].quant_enable = false;
    last = await trial(config, ++evaluations);
  }
  return { evaluations, ms: performance.now() - t0, floatLayers: reverted, meets: last.run.judgement.meets };
}

async function tuner(modelPath: string, data: string, dir: string): Promise<Outcome> {
  const t0 = performance.now();
  const s = await tune({
    modelPath, calibration: { data: join(data, 'calib_x.npy') }, calibrationBatchSize: 32, evaluation: setup(data),
    trialDir: (i) => join(dir, 'trials', String(i)), scratchDir: join(dir, 'scratch'),
  });
  const best = s.trials.find((t) => t.index === s.best)!;
  return { evaluations: s.trials.length, ms: performance.now() - t0, floatLayers: best.floatLayers.length, meets: best.meets };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

export default async function (): Promise<void> {
  for (const c of CASES) {
    const model = join(ROOT, c.model), data = join(ROOT, c.data);
    const runs: { base: Outcome; ours: Outcome }[] = [];
    for (let r = 0; r < REPS; r++) {
      const dir = mkdtempSync(join(tmpdir(), 'qtune-bench-tune-'));
      try {
        runs.push({ base: await oneAtATime(model, data, join(dir, 'base')), ours: await tuner(model, data, join(dir, 'tuner')) });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const { base, ours } = runs[0];
    const ms = (k: 'base' | 'ours') => median(runs.map((x) => x[k].ms));
    console.log(`tune ${c.name}: one layer at a time: ${base.evaluations} evaluations, ${(ms('base') / 1000).toFixed(1)} s, ${base.floatLayers} layer(s) in float, target ${base.meets ? 'met' : 'missed'}`);
    console.log(`tune ${c.name}: tuner:              ${ours.evaluations} evaluations, ${(ms('ours') / 1000).toFixed(1)} s, ${ours.floatLayers} layer(s) in float, target ${ours.meets ? 'met' : 'missed'}`);
    console.log(`tune ${c.name}: tuner / one at a time: evaluations ${(ours.evaluations / base.evaluations).toFixed(2)}, wall time ${(ms('ours') / ms('base')).toFixed(2)} (median of ${REPS})`);
  }
}
