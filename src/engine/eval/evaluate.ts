// The evaluation runner: feeds a dataset through a model with ONNX Runtime
// and scores it — classification accuracy against labels, fidelity against a
// reference float model, or a user's own metric module.

import { isCancelled, QtuneError, throwIfAborted } from '../../shared/errors';
import type {
  ClassificationMetrics,
  EvalProgress,
  EvalResult,
  FidelityMetrics,
  MetricSpec,
  OutputSimilarity,
  PerSampleResult,
  SimilarityMetric,
  SimilarityMetrics,
} from '../../shared/eval-types';
import { SIMILARITY_METRICS } from '../../shared/eval-types';
import type { Batch, Dataset } from '../data/dataset';
import { createSession, SlicedRunner, toOrtFeeds, type ort } from '../onnx';
import { halfToFloat } from '../data/npy';
import { cosine, fidelityScore, inTopK, mse, sqnrDb, top1 } from './metrics';
import { importUserModule } from './user-module';

export interface ModelRef {
  /** the model's file; with `session` too, it is read only to check that batches may run in slices (SlicedRunner) */
  modelPath?: string;
  session?: ort.InferenceSession;
}

export interface EvaluateOptions extends ModelRef {
  dataset: Dataset;
  batchSize: number;
  metric: MetricSpec;
  /** the float model to compare against (fidelity) */
  reference?: ModelRef;
  /** which output is scored; default the first */
  output?: string;
  limit?: number;
  /** a custom metric module runs user code: the caller must have asked the user */
  trusted?: boolean;
  onProgress?: (p: EvalProgress) => void;
  signal?: AbortSignal;
  /** about how long one inference may hold the thread before a Cancel can be heard (default INFERENCE_SLICE_MS) */
  sliceMs?: number;
}

/** A tensor handed to custom metrics, already float32 (int64 outputs become numbers). */
export interface OutputTensor {
  dims: number[];
  data: Float32Array;
}

/** What a custom metric module exports (named exports or a default object). */
export interface CustomMetricModule {
  init?(info: { inputNames: string[]; outputNames: string[]; count: number; classNames?: string[] }): void | Promise<void>;
  /** labels: class indices, or the text labels of a .txt whose labels are not integers */
  batch(outputs: Record<string, OutputTensor>, labels: Int32Array | string[] | undefined, indices: number[]): void | Promise<void>;
  finish(): { value: number; details?: unknown } | Promise<{ value: number; details?: unknown }>;
}

async function obtain(ref: ModelRef, role: string): Promise<{ session: ort.InferenceSession; owned: boolean }> {
  if (ref.session) return { session: ref.session, owned: false };
  if (!ref.modelPath) throw new QtuneError('eval_invalid', `no ${role} model given (modelPath or session)`);
  return { session: await createSession(ref.modelPath, { forComparison: false }), owned: true };
}

export function asFloat32(t: ort.Tensor): Float32Array {
  const d = t.data;
  if (d instanceof Float32Array) return d;
  if (t.type === 'float16' && d instanceof Uint16Array) return Float32Array.from(d, halfToFloat);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float32Array.from(d, Number);
  if (typeof (d as ArrayLike<unknown>)[0] === 'string') throw new QtuneError('eval_invalid', `output of type ${t.type} cannot be scored`);
  return Float32Array.from(d as ArrayLike<number>);
}

/** One batch through the model, in slices that let a Cancel through (see SlicedRunner). */
async function run(runner: SlicedRunner, batch: Batch, role: string): Promise<ort.InferenceSession.OnnxValueMapType> {
  try {
    return await runner.run(toOrtFeeds(batch.feeds), batch.indices.length + batch.padded, batch.unbatched);
  } catch (err) {
    if (isCancelled(err)) throw err;
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new QtuneError('inference_failed', `the ${role} model failed on samples ${batch.indices[0]}…${batch.indices.at(-1)}: ${reason}`);
  }
}

/** Rows of one output that belong to real samples (padding rows dropped), and the length of each row. */
export function rows(t: ort.Tensor, batch: Batch, outputName: string): { data: Float32Array; per: number } {
  const n = batch.indices.length + batch.padded;
  const data = asFloat32(t);
  if (data.length % n !== 0) {
    throw new QtuneError('eval_invalid', `output '${outputName}' has ${data.length} values for a batch of ${n}; cannot split it per sample`);
  }
  const per = data.length / n;
  return { data: data.subarray(0, per * batch.indices.length), per };
}

function pickOutput(session: ort.InferenceSession, wanted: string | undefined, role: string): string {
  if (!wanted) return session.outputNames[0];
  if (!session.outputNames.includes(wanted)) {
    throw new QtuneError('eval_invalid', `the ${role} model has no output '${wanted}' (it has: ${session.outputNames.join(', ')})`, { path: 'output' });
  }
  return wanted;
}

class ClassificationScorer {
  private correct1 = 0;
  private correct5 = 0;
  private seen = 0;
  private numClasses = 0;
  private confusion: number[][] = [];
  readonly perSample: PerSampleResult = { indices: [], predictions: [], margins: [], labels: [] };

  add(scores: Float32Array, per: number, labels: Int32Array, indices: number[]): void {
    // One value per sample means the model already outputs the class (e.g. an ArgMax head).
    const direct = per === 1;
    const classes = direct ? 0 : per;
    this.numClasses = Math.max(this.numClasses, classes);
    for (let r = 0; r < indices.length; r++) {
      const label = labels[r];
      if (!direct && label >= per) {
        throw new QtuneError('labels_invalid', `sample ${indices[r]} has label ${label}, but the model scores only ${per} classes (0…${per - 1})`, {
          path: 'labels',
        });
      }
      const { prediction, margin } = direct ? { prediction: Math.round(scores[r]), margin: NaN } : top1(scores, r * per, per);
      if (prediction === label) this.correct1++;
      if (!direct && inTopK(scores, r * per, per, label, 5)) this.correct5++;
      this.seen++;
      const size = Math.max(this.confusion.length, label + 1, prediction + 1);
      while (this.confusion.length < size) this.confusion.push([]);
      this.confusion[label][prediction] = (this.confusion[label][prediction] ?? 0) + 1;
      this.perSample.indices.push(indices[r]);
      this.perSample.predictions.push(prediction);
      this.perSample.margins.push(margin);
      this.perSample.labels!.push(label);
    }
  }

  result(): ClassificationMetrics {
    const k = Math.max(this.numClasses, this.confusion.length);
    const confusion = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => this.confusion[i]?.[j] ?? 0));
    const perClass = confusion.map((row, i) => {
      const total = row.reduce((a, b) => a + b, 0);
      return { correct: row[i], total, accuracy: total ? (100 * row[i]) / total : null };
    });
    return {
      top1: this.seen ? (100 * this.correct1) / this.seen : 0,
      top5: this.numClasses >= 5 && this.seen ? (100 * this.correct5) / this.seen : null,
      numClasses: k,
      perClass,
      confusion,
    };
  }
}

/** Per output, sums over samples of cosine, SQNR, MSE and top-1 agreement against the reference's output of the same name. */
class OutputSums {
  private readonly sums = new Map<string, { cosine: number; sqnr: number; mse: number; agree: number; seen: number }>();

  constructor(readonly names: readonly string[]) {
    for (const o of names) this.sums.set(o, { cosine: 0, sqnr: 0, mse: 0, agree: 0, seen: 0 });
  }

  /** Adds one batch of one output (`samples` rows of `per` values). */
  add(name: string, x: Float32Array, y: Float32Array, per: number, samples: number): void {
    if (x.length !== y.length) {
      throw new QtuneError('eval_invalid', `output '${name}' has ${x.length / samples} values per sample, the reference ${y.length / samples}`);
    }
    const s = this.sums.get(name)!;
    for (let r = 0; r < samples; r++) {
      // a sample's score must be finite to be averaged: a dead output is cosine 0, SQNR held within its cap
      const score = fidelityScore(cosine(x, y, r * per, per), sqnrDb(x, y, r * per, per));
      s.cosine += score.cosine;
      s.sqnr += score.sqnrDb;
      s.mse += mse(x, y, r * per, per);
      if (top1(x, r * per, per).prediction === top1(y, r * per, per).prediction) s.agree++;
      s.seen++;
    }
  }

  result(withAgreement: boolean): OutputSimilarity[] {
    return this.names.map((name) => {
      const s = this.sums.get(name)!;
      const n = Math.max(1, s.seen);
      return { name, cosine: s.cosine / n, sqnrDb: s.sqnr / n, mse: s.mse / n, ...(withAgreement ? { top1Agreement: (100 * s.agree) / n } : {}) };
    });
  }
}

/** The mean over outputs of one figure. */
const meanOver = (outputs: OutputSimilarity[], pick: (o: OutputSimilarity) => number): number => outputs.reduce((a, o) => a + pick(o), 0) / Math.max(1, outputs.length);

/** Top-1 agreement of the scored output (its per-sample predictions list the flips), and every output's cosine and SQNR. */
class FidelityScorer {
  private agree = 0;
  private seen = 0;
  private readonly sums: OutputSums;
  readonly perSample: PerSampleResult = { indices: [], predictions: [], margins: [] };

  constructor(private readonly output: string, outputs: readonly string[]) {
    this.sums = new OutputSums(outputs);
  }

  add(x: Float32Array, y: Float32Array, per: number, indices: number[], labels?: Int32Array): void {
    if (x.length !== y.length) {
      throw new QtuneError('eval_invalid', `output '${this.output}' has ${x.length / indices.length} values per sample, the reference ${y.length / indices.length}`);
    }
    for (let r = 0; r < indices.length; r++) {
      const mine = top1(x, r * per, per);
      if (mine.prediction === top1(y, r * per, per).prediction) this.agree++;
      this.seen++;
      this.perSample.indices.push(indices[r]);
      this.perSample.predictions.push(mine.prediction);
      this.perSample.margins.push(mine.margin);
      if (labels) (this.perSample.labels ??= []).push(labels[r]);
    }
  }

  addOutput(name: string, x: Float32Array, y: Float32Array, per: number, samples: number): void {
    this.sums.add(name, x, y, per, samples);
  }

  result(): FidelityMetrics {
    const n = Math.max(1, this.seen);
    const outputs = this.sums.result(true);
    return { top1Agreement: (100 * this.agree) / n, cosine: meanOver(outputs, (o) => o.cosine), sqnrDb: meanOver(outputs, (o) => o.sqnrDb), output: this.output, outputs };
  }
}

/** Every output against the reference's output of the same name: cosine, SQNR and MSE per sample, averaged. */
class SimilarityScorer {
  private readonly sums: OutputSums;

  constructor(private readonly metric: SimilarityMetric, outputs: readonly string[]) {
    this.sums = new OutputSums(outputs);
  }

  add(name: string, x: Float32Array, y: Float32Array, per: number, samples: number): void {
    this.sums.add(name, x, y, per, samples);
  }

  result(): SimilarityMetrics {
    const outputs = this.sums.result(false);
    const pick = (o: OutputSimilarity) => (this.metric === 'cosine' ? o.cosine : this.metric === 'sqnr' ? o.sqnrDb : o.mse);
    return { metric: this.metric, value: meanOver(outputs, pick), outputs };
  }
}

/** The outputs compared: every output of the model that the reference has too (by name), in the model's order. */
function comparedOutputs(main: ort.InferenceSession, ref: ort.InferenceSession): string[] {
  const shared = main.outputNames.filter((o) => ref.outputNames.includes(o));
  if (shared.length === 0) {
    throw new QtuneError('eval_invalid', `the model and the reference share no output name (model: ${main.outputNames.join(', ')}; reference: ${ref.outputNames.join(', ')})`, { path: 'reference' });
  }
  return shared;
}

/** Loads a user's metric module. Running it executes their code, so only with trusted: true. */
export async function loadCustomMetric(path: string, trusted: boolean | undefined): Promise<CustomMetricModule> {
  if (trusted !== true) {
    throw new QtuneError('custom_metric_untrusted', `the custom metric ${path} runs JavaScript on this machine; it was not confirmed as trusted`, {
      file: path,
      hint: 'in the app press "Trust and run this evaluator" on the project step; the command line runs the module you name without asking',
    });
  }
  let mod: Record<string, unknown>;
  try {
    mod = await importUserModule(path);
  } catch (err) {
    throw new QtuneError('custom_metric_invalid', `cannot load the custom metric ${path}: ${(err as Error).message}`, { file: path });
  }
  // named exports, or a default export (what CommonJS module.exports becomes; node's guess of its names can miss some)
  const hasBoth = (x: unknown): x is Record<string, unknown> =>
    typeof x === 'object' && x !== null && typeof (x as Record<string, unknown>).batch === 'function' && typeof (x as Record<string, unknown>).finish === 'function';
  const m = [mod, mod.default].find(hasBoth) ?? {};
  if (typeof m.batch !== 'function' || typeof m.finish !== 'function') {
    throw new QtuneError('custom_metric_invalid', `${path} must export batch(outputs, labels, indices) and finish() (init() optional)`, { file: path });
  }
  return m as unknown as CustomMetricModule;
}

/** Runs the evaluation. Progress per batch; cancellation is checked between inference slices (a few samples each). */
export async function evaluateModel(opts: EvaluateOptions): Promise<EvalResult> {
  const started = Date.now();
  const { dataset, metric, signal } = opts;
  const isCustom = metric.startsWith('custom:');
  const similarityMetric = (SIMILARITY_METRICS as readonly string[]).includes(metric) ? (metric as SimilarityMetric) : undefined;
  if (!isCustom && !similarityMetric && metric !== 'classification' && metric !== 'fidelity') {
    throw new QtuneError('eval_invalid', `unknown metric '${metric}' (use classification, fidelity, cosine, sqnr, mse or custom:path.js)`, { path: 'metric' });
  }
  if (similarityMetric && !opts.reference) {
    throw new QtuneError('eval_invalid', `the ${metric} metric compares every output against a reference model; none was given`, { path: 'reference' });
  }
  if (metric === 'classification' && dataset.textLabels) {
    throw new QtuneError('labels_invalid', 'classification accuracy needs integer class labels; these labels are text (a custom evaluator reads them as strings)', { path: 'labels' });
  }
  if (metric === 'classification' && !dataset.labels) {
    throw new QtuneError('labels_missing', 'classification accuracy needs labels; add labels to the dataset or use the fidelity metric with a reference model', {
      path: 'labels',
    });
  }
  if (metric === 'fidelity' && !opts.reference) {
    throw new QtuneError('eval_invalid', 'the fidelity metric compares against a reference model; none was given', { path: 'reference' });
  }
  const custom = isCustom ? await loadCustomMetric(metric.slice('custom:'.length), opts.trusted) : undefined;
  const main = await obtain(opts, 'evaluated');
  const ref = metric === 'fidelity' || similarityMetric ? await obtain(opts.reference!, 'reference') : undefined;
  try {
    const output = pickOutput(main.session, opts.output, 'evaluated');
    const refOutput = ref ? (ref.session.outputNames.includes(output) ? output : ref.session.outputNames[0]) : '';
    const total = Math.min(dataset.count, opts.limit ?? Infinity);
    const classification = metric === 'classification' ? new ClassificationScorer() : undefined;
    // similarity needs outputs of the same name; fidelity falls back to its scored pair (the reference's first output)
    const compared = !ref ? [] : similarityMetric ? comparedOutputs(main.session, ref.session) : main.session.outputNames.filter((o) => ref.session.outputNames.includes(o));
    const fidelity = ref && !similarityMetric ? new FidelityScorer(output, compared.length ? compared : [output]) : undefined;
    const similarity = similarityMetric ? new SimilarityScorer(similarityMetric, compared) : undefined;
    // the float model compared with itself (a run's float side) runs once: its outputs are the reference's
    const mainRunner = new SlicedRunner(main.session, { signal, sliceMs: opts.sliceMs, model: opts.modelPath });
    const refRunner = ref && ref.session !== main.session ? new SlicedRunner(ref.session, { signal, sliceMs: opts.sliceMs, model: opts.reference!.modelPath }) : undefined;
    const runReference = async (batch: Batch, outs: ort.InferenceSession.OnnxValueMapType) => (refRunner ? run(refRunner, batch, 'reference') : outs);
    await custom?.init?.({ inputNames: dataset.inputNames, outputNames: [...main.session.outputNames], count: total, classNames: dataset.classNames });
    let done = 0;
    opts.onProgress?.({ stage: 'evaluate', done, total });
    for await (const batch of dataset.batches({ batchSize: opts.batchSize, limit: opts.limit })) {
      throwIfAborted(signal);
      const outs = await run(mainRunner, batch, 'evaluated');
      if (classification) {
        const { data, per } = rows(outs[output], batch, output);
        classification.add(data, per, batch.labels!, batch.indices);
      } else if (similarity || fidelity) {
        const refOuts = await runReference(batch, outs);
        for (const name of compared) {
          const x = rows(outs[name], batch, name);
          const y = rows(refOuts[name], batch, name).data;
          if (similarity) similarity.add(name, x.data, y, x.per, batch.indices.length);
          else fidelity!.addOutput(name, x.data, y, x.per, batch.indices.length);
        }
        if (fidelity) {
          const x = rows(outs[output], batch, output);
          const y = rows(refOuts[refOutput], batch, refOutput);
          fidelity.add(x.data, y.data, x.per, batch.indices, batch.labels);
          if (compared.length === 0) fidelity.addOutput(output, x.data, y.data, x.per, batch.indices.length);
        }
      } else {
        const tensors: Record<string, OutputTensor> = {};
        for (const name of main.session.outputNames) {
          const r = rows(outs[name], batch, name);
          const dims = [...outs[name].dims];
          if (dims.length > 0) dims[0] = batch.indices.length;
          tensors[name] = { dims, data: r.data };
        }
        await custom!.batch(tensors, batch.textLabels ?? batch.labels, batch.indices);
      }
      done += batch.indices.length;
      opts.onProgress?.({ stage: 'evaluate', done, total });
    }
    throwIfAborted(signal);
    const base = { metric, samples: done, notes: [...dataset.notes], durationMs: 0, ...(dataset.skipped.length ? { skipped: [...dataset.skipped] } : {}) };
    let result: EvalResult;
    if (classification) {
      const c = classification.result();
      result = { ...base, value: c.top1, classification: c, perSample: classification.perSample };
    } else if (similarity) {
      const s = similarity.result();
      result = { ...base, value: s.value, similarity: s };
    } else if (fidelity) {
      const f = fidelity.result();
      result = { ...base, value: f.top1Agreement, fidelity: f, perSample: fidelity.perSample };
    } else {
      const r = await custom!.finish();
      if (!r || typeof r.value !== 'number' || !Number.isFinite(r.value)) {
        throw new QtuneError('custom_metric_invalid', `${metric.slice(7)}: finish() must return { value: <finite number>, details? }`, { file: metric.slice(7) });
      }
      result = { ...base, value: r.value, custom: { value: r.value, details: r.details } };
    }
    result.durationMs = Date.now() - started;
    return result;
  } finally {
    if (main.owned) await main.session.release();
    if (ref?.owned) await ref.session.release();
  }
}
