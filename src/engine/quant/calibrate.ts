// Calibration: run the (fused) float model over batch_num batches and find
// every enabled layer's activation scale with IFMR.
//
// The default method streams: ONNX Runtime reduces each layer input inside the
// graph (engine/onnx/reductions.ts) and only batch summaries reach JavaScript,
// so memory does not grow with the number of samples and nothing large is
// copied out; the IFMR choice is still the exact one (streaming-ifmr.ts), with
// one more pass over the data for the few layers whose best candidate the
// summaries cannot prove.
//
// The "held" method gathers each input whole and searches the sorted values:
// the reference the streaming result must equal, and the fallback for the rare
// settings the summaries cannot serve (very low percentiles, models that ORT
// cannot run with the reduction nodes). Its memory stays within a budget: the
// first batch tells how large each input is; when everything fits it is all
// held in one pass, otherwise the inputs are split into groups that fit and the
// data is run once per group. An input too large to hold alone is reduced to a
// fine histogram over two passes (range, then bins) and searched in IFMR's
// approximate mode, flagged as such.
import { QtuneError, throwIfAborted } from '../../shared/errors';
import type { QuantConfig, ResolvedLayerConfig } from '../../shared/config-types';
import type { QuantizeProgress } from '../../shared/quant-types';
import type { Batch, Dataset } from '../data/dataset';
import { createSession, exposeTensors, findQuantizableLayers, ReductionBuilder, shapeOf, toOrtFeeds, type ExtremeOutputs, type SessionOptions, type OnnxModel, type ort } from '../onnx';
import { StreamingIfmrHistogram, summarizeActivation, summarizeFromIfmrHistogram, summarizeFromMergedHistogram, type ActivationSummary } from './activation-stats';
import { effectiveLayerConfig } from './config';
import { ifmrSearch, ifmrSearchHistogram, percentileRank, type IfmrResult } from './ifmr';
import type { TensorRange } from './qdq-plan';
import { CandidateRefiner } from './candidate-refiner';
import { defaultFoldThreads, inThreadFolder, startFoldThreads, threadFolder, THREADED_FOLD_MIN_VALUES, type FoldItem, type HistogramFolder } from './histogram-folding';
import { MergedHistogram } from './merged-histogram';
import { ExtremeKeeper, finishIfmr, planIfmr, type IfmrPlan, type TensorSummary } from './streaming-ifmr';
import { finiteRanges, widenRange } from './tensor-ranges';
import { exposeBodyLayerInputs, noSamplesReason } from './subgraph-calibration';

export const DEFAULT_MEMORY_BUDGET = 2 * 1024 ** 3;

export interface CalibrateOptions {
  /** samples per inference (a fixed batch dimension in the model wins) */
  batchSize: number;
  onProgress?: (p: QuantizeProgress) => void;
  signal?: AbortSignal;
  /** bytes of activations held at once (default 2 GiB) */
  memoryBudgetBytes?: number;
  /** ORT intra-op threads (default: ORT's choice) */
  intraOpNumThreads?: number;
  /** "stream" (default): in-graph summaries, flat memory; "held": gather whole inputs (the reference) */
  method?: 'stream' | 'held';
  /** ORT graph optimisations for the calibration runs (default true; tests compare methods with them off) */
  optimize?: boolean;
  /**
   * Tensors whose min and max over the same samples are wanted too (the ort-cpu export's extra quantized
   * tensors). The streaming method measures them in its first pass; `ranges` lists what was measured.
   */
  rangeTensors?: readonly string[];
  /**
   * Threads that fold the streaming method's values into histograms while the next inference runs (default:
   * the cores onnxruntime leaves, 1–4, and only for calibrations large enough to pay for starting them; 0 folds
   * on the calling thread).
   */
  foldThreads?: number;
}

export interface EnabledLayer {
  name: string;
  opType: string;
  inputTensor: string;
  outputTensor: string;
  kernelDims?: number;
  /** the If/Loop/Scan body holding the layer (its tensors are the body's) */
  subgraph?: string;
  config: ResolvedLayerConfig;
}

export interface LayerCalibration extends EnabledLayer {
  ifmr: IfmrResult;
  stats: ActivationSummary;
}

export interface CalibrationResult {
  layers: LayerCalibration[];
  batches: number;
  batchSize: number;
  samples: number;
  passes: number;
  /** min and max of the `rangeTensors` asked for, when this calibration measured them (finite ones only) */
  ranges?: Map<string, TensorRange>;
  /** enabled layers inside control-flow bodies that no calibration sample reached (left out of `layers`) */
  noSamples?: { name: string; reason: string }[];
}

/** Quantizable layers that the config enables, in node order. */
export function enabledLayers(model: OnnxModel, config: QuantConfig): EnabledLayer[] {
  const out: EnabledLayer[] = [];
  for (const l of findQuantizableLayers(model)) {
    if (!l.quantizable) continue;
    const resolved = effectiveLayerConfig(config, l.name, { opType: l.opType, kernelDims: l.kernelDims });
    if (!resolved) continue;
    out.push({ name: l.name, opType: l.opType, inputTensor: l.inputTensor, outputTensor: l.outputTensor, kernelDims: l.kernelDims, ...(l.subgraph ? { subgraph: l.subgraph } : {}), config: resolved });
  }
  return out;
}

function asFloat32(t: ort.Tensor, tensor: string): Float32Array {
  if (t.type !== 'float32') throw new QtuneError('activation_not_float', `tensor '${tensor}' is ${t.type}; only float32 activations can be calibrated`, { path: tensor });
  return t.data as Float32Array;
}

/** Split tensors into groups whose bytes fit the budget (first fit, largest first); the oversized go apart. */
export function planGroups(bytes: Map<string, number>, budget: number): { groups: string[][]; oversized: string[] } {
  const oversized: string[] = [];
  const groups: { tensors: string[]; used: number }[] = [];
  const sorted = [...bytes.entries()].sort((a, b) => b[1] - a[1]);
  for (const [t, b] of sorted) {
    if (b > budget) {
      oversized.push(t);
      continue;
    }
    const g = groups.find((x) => x.used + b <= budget);
    if (g) {
      g.tensors.push(t);
      g.used += b;
    } else groups.push({ tensors: [t], used: b });
  }
  return { groups: groups.map((g) => g.tensors), oversized };
}

/**
 * Calibrate every enabled layer of `model` on `dataset`. The model should
 * already be fused; it is not changed.
 */
export async function calibrate(model: OnnxModel, dataset: Dataset, config: QuantConfig, opts: CalibrateOptions): Promise<CalibrationResult> {
  const body = exposeBodyLayerInputs(model, enabledLayers(model, config));
  return reportBodyLayers(await calibrateLayers(body.model, dataset, config, body.layers, opts), body.original);
}

/** Results under the layers' own (body) tensor names; body layers that saw no sample listed apart. */
function reportBodyLayers(r: CalibrationResult, original: Map<string, EnabledLayer>): CalibrationResult {
  const seen = new Set(r.layers.map((l) => l.name));
  const noSamples = [...original.values()].filter((l) => !seen.has(l.name)).map((l) => ({ name: l.name, reason: noSamplesReason(l) }));
  const layers = r.layers.map((l) => ({ ...l, inputTensor: original.get(l.name)!.inputTensor }));
  return { ...r, layers, ...(noSamples.length ? { noSamples } : {}) };
}

async function calibrateLayers(model: OnnxModel, dataset: Dataset, config: QuantConfig, layers: EnabledLayer[], opts: CalibrateOptions): Promise<CalibrationResult> {
  const batchNum = config.batch_num;
  const batchSize = dataset.effectiveBatchSize(opts.batchSize);
  const need = batchNum * batchSize;
  if (dataset.count < need) {
    throw new QtuneError(
      'calibration_data_too_small',
      `calibration needs batch_num × batch size = ${batchNum} × ${batchSize} = ${need} samples, but the data has ${dataset.count}; lower batch_num or the batch size, or add samples`,
      { path: '$.batch_num' },
    );
  }
  if (layers.length === 0) return { layers: [], batches: 0, batchSize, samples: 0, passes: 0 };
  throwIfAborted(opts.signal);
  // the stage starts now: building its session takes a while on a real-size model
  opts.onProgress?.({ stage: 'calibrate', done: 0, total: batchNum, pass: 1, passes: 1 });
  if (opts.method !== 'held') {
    const streamed = await calibrateStreaming(model, dataset, layers, { ...opts, batchSize, batchNum });
    if (streamed) return streamed;
  }
  return calibrateHeld(model, dataset, layers, { ...opts, batchSize, batchNum });
}

/** The streaming summary pass: its session (kept for the second pass), its graph and what each tensor's outputs are. */
interface SummaryPass {
  session: ort.InferenceSession;
  builder: ReductionBuilder;
  /** what each run of its graph (or of a graph cut from it) is fed besides the samples: the extremes' k */
  feeds: Record<string, ort.Tensor>;
  /** each layer input's exposed name (undefined for a graph input, which the feeds hold) */
  raw: Map<string, string | undefined>;
  /** one small output, fetched when a run needs only the feeds */
  any: string;
  /** every output added for a tensor (its extremes and itself; `<tensor>\0range` for its range) */
  outputsOf: Map<string, string[]>;
}

interface PassOptions extends CalibrateOptions {
  batchNum: number;
}

/** Bytes of activations one streaming run hands to JavaScript; sets how many samples each inference takes (ResNet-50: 3). */
export const STREAM_BYTES_PER_RUN = 128 * 1024 ** 2;
/** Most extremes kept per tensor and side (the percentiles' ranks); beyond it the held method runs. */
const STREAM_MAX_K = 1 << 20;
/** Near-tied candidates measured inside the graph per extra pass (each holds float64 copies of its layer's input). */
const EXACT_CANDIDATES_PER_PASS = 8;

function runFailure(batch: Batch, err: unknown): QtuneError {
  const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  return new QtuneError('inference_failed', `calibration inference failed on samples ${batch.indices[0]}…${batch.indices.at(-1)}: ${reason}`);
}

/** Extremes each tensor needs for its layers' percentiles over `n` values. */
function extremesNeeded(layers: EnabledLayer[], n: number): number {
  let k = 1;
  for (const l of layers) {
    k = Math.max(k, percentileRank(l.config.activation.maxPercentile, n), percentileRank(l.config.activation.minPercentile, n));
  }
  return k;
}

/**
 * Values one sample of the model's first input holds, when its shape says (0 when it does not): times the number
 * of calibrated tensors, a rough size of a pass before any inference has run.
 */
function inputValuesPerSample(model: OnnxModel): number {
  const dims = shapeOf(model.graph.feedInputs[0]?.type)?.slice(1);
  return dims && dims.every((d) => typeof d === 'number' && d > 0) ? (dims as number[]).reduce((a, b) => a * b, 1) : 0;
}

/** The values beyond tau among whole rows (see ReductionBuilder.addExtremes). */
function beyond(rows: Float32Array, tau: number, largest: boolean): Float32Array {
  if (!Number.isFinite(tau)) return rows;
  // a plain loop: this runs over k whole rows per tensor and batch, and a filter callback costs several times more
  const out = new Float32Array(rows.length);
  let n = 0;
  if (largest) {
    for (let i = 0; i < rows.length; i++) if (rows[i] > tau) out[n++] = rows[i];
  } else {
    for (let i = 0; i < rows.length; i++) if (rows[i] < tau) out[n++] = rows[i];
  }
  return out.subarray(0, n);
}

/**
 * The streaming method. Returns null when it cannot serve this model or
 * these settings (the caller then runs the held method); errors that concern
 * the user's data or a cancellation are thrown as usual.
 */
async function calibrateStreaming(model: OnnxModel, dataset: Dataset, layers: EnabledLayer[], opts: PassOptions): Promise<CalibrationResult | null> {
  const { signal, onProgress, batchSize, batchNum } = opts;
  const need = batchNum * batchSize;
  const tensors = [...new Set(layers.map((l) => l.inputTensor))];
  const layersOf = (t: string) => layers.filter((l) => l.inputTensor === t);
  const sessionOptions: SessionOptions = { forComparison: opts.optimize === false, intraOpNumThreads: opts.intraOpNumThreads, lowMemory: true };
  let passes = 1;
  let runsPerPass = 1;

  const open = async (builder: ReductionBuilder): Promise<ort.InferenceSession | null> => {
    try {
      return await createSession(builder.model, sessionOptions);
    } catch {
      return null;
    }
  };

  /**
   * The summary pass's graph cut after `tensors`: the network beyond the last of them and the reductions of
   * later tensors left out. Upstream tensors keep every consumer they had (their reductions), so that
   * onnxruntime optimises that part as it did in the summary pass: cut closer, it fuses and lays out kernels
   * differently, and values move by a rounding.
   */
  const openPruned = async (pass: SummaryPass, tensors: string[]): Promise<ort.InferenceSession | undefined> => {
    const upstream = new Set([...model.graph.feedInputs.map((v) => v.name ?? ''), ...pass.builder.prunedTo(tensors).graph.nodes.flatMap((n) => n.output)]);
    const keep = new Set(tensors);
    for (const [t, outs] of pass.outputsOf) if (upstream.has(t.split('\0')[0])) for (const o of outs) keep.add(o);
    try {
      return await createSession(pass.builder.prunedTo([...keep]), sessionOptions);
    } catch {
      return undefined;
    }
  };

  /**
   * One pass over the calibration samples, `inferenceBatch` at a time; `take`
   * gets each run's results, and the next run starts once it has resolved.
   * onnxruntime-node runs a session on the main thread (inside a
   * setImmediate): what `take` hands to folding threads is folded while the
   * next run computes, and the next batch is read from disk meanwhile.
   */
  const runPass = async (
    session: ort.InferenceSession, outputs: string[], inferenceBatch: number, pass: number,
    take: (r: Record<string, ort.Tensor>, feeds: Record<string, ort.Tensor>, run: number) => boolean | void | Promise<boolean | void>,
    { limit = need, extraFeeds = {} }: { limit?: number; extraFeeds?: Record<string, ort.Tensor> } = {},
  ): Promise<boolean> => {
    if (limit === need) runsPerPass = Math.ceil(need / dataset.runSize(inferenceBatch));
    let pending: { batch: Batch; feeds: Record<string, ort.Tensor>; result: Promise<Record<string, ort.Tensor>> } | undefined;
    let run = 0;
    const drain = async () => {
      // never leave a run in flight: the session is released right after
      await pending?.result.catch(() => undefined);
      return false;
    };
    for await (const batch of dataset.batches({ batchSize: inferenceBatch, limit })) {
      if (signal?.aborted) await drain();
      throwIfAborted(signal);
      if (pending) {
        const p = pending;
        pending = undefined;
        let result: Record<string, ort.Tensor>;
        try {
          result = await p.result;
        } catch (err) {
          throw runFailure(p.batch, err);
        }
        run++;
        if ((await take(result, p.feeds, run)) === false) return false;
        onProgress?.({ stage: 'calibrate', done: (pass - 1) * runsPerPass + run, total: passes * runsPerPass, pass, passes });
      }
      throwIfAborted(signal);
      const feeds = { ...toOrtFeeds(batch.feeds), ...extraFeeds };
      pending = { batch, feeds, result: session.run(feeds, outputs) as Promise<Record<string, ort.Tensor>> };
      pending.result.catch(() => undefined); // surfaced when awaited
    }
    if (pending) {
      const p = pending;
      let result: Record<string, ort.Tensor>;
      try {
        result = await p.result;
      } catch (err) {
        throw runFailure(p.batch, err);
      }
      run++;
      if ((await take(result, p.feeds, run)) === false) return false;
      onProgress?.({ stage: 'calibrate', done: (pass - 1) * runsPerPass + run, total: passes * runsPerPass, pass, passes });
    }
    return true;
  };

  // Pass 1: extremes from ORT, values folded into histograms here. How many extremes to keep depends on the
  // number of values, and how many samples one run takes on the activation bytes per sample: a probe run on
  // the first sample tells both. k is fed with each run, so the one session serves whatever k turns out to be.
  let summaries: Map<string, TensorSummary> | undefined;
  let ranges = new Map<string, TensorRange>();
  const rangeTensors = [...new Set(opts.rangeTensors ?? [])];
  let runBatch = 1;
  let builder: ReductionBuilder;
  let outputs: Map<string, { extremes: ExtremeOutputs; raw?: string }>;
  let rangeOutputs: Map<string, { min: string; max: string }>;
  try {
    builder = new ReductionBuilder(model);
    outputs = new Map(tensors.map((t) => [t, { extremes: builder.addExtremes(t), raw: builder.expose(t) }]));
    rangeOutputs = new Map(rangeTensors.map((t) => [t, builder.addRange(t)]));
  } catch {
    return null;
  }
  // folding threads started now come up while the session is built (the probe then decides whether they fold)
  const threads = opts.foldThreads ?? defaultFoldThreads();
  let early = threads > 0 && (opts.foldThreads !== undefined || inputValuesPerSample(model) * tensors.length * need >= THREADED_FOLD_MIN_VALUES)
    ? startFoldThreads(threads)
    : undefined;
  // the summary pass's session, kept for the second pass: the same graph gives bit-identical activations (another
  // graph, optimised differently, may not), which the refinement needs to land every value in its summary bin
  // (their cores shared with onnxruntime's threads, which then wait without spinning)
  if (early) sessionOptions.noSpinning = true;
  const session = await open(builder);
  let summary: SummaryPass | undefined;
  try {
    if (!session) return null;
    const valuesPerSample = new Map<string, number>();
    let probeSamples = 1;
    const probeBatch = dataset.effectiveBatchSize(1);
    await runPass(session, builder.outputs, probeBatch, 1, (r, feeds) => {
      probeSamples = Object.values(feeds)[0]?.dims[0] ?? 1;
      for (const t of tensors) valuesPerSample.set(t, (r[t] ?? feeds[t]).data.length);
      return false;
    }, { limit: probeBatch, extraFeeds: builder.extremesFeed(1) });
    for (const [t, n] of valuesPerSample) valuesPerSample.set(t, n / probeSamples);
    const bytesPerSample = 4 * [...valuesPerSample.values()].reduce((a, b) => a + b, 0);
    const inferenceBatch = dataset.effectiveBatchSize(Math.max(1, Math.min(batchSize, Math.floor(STREAM_BYTES_PER_RUN / Math.max(1, bytesPerSample)))));
    // the percentiles' ranks over as many values as the probe promises (a body tensor may get more: then again, with more)
    let k = Math.max(1, ...[...valuesPerSample].map(([t, n]) => extremesNeeded(layersOf(t), Math.ceil(n * need))));
    for (;;) {
      let folder: HistogramFolder | undefined;
      try {
        const threaded = threads > 0 && (opts.foldThreads !== undefined || (bytesPerSample / 4) * need >= THREADED_FOLD_MIN_VALUES);
        folder = threaded ? threadFolder(early ?? threads, new Map([...valuesPerSample].map(([t, n]) => [t, n * inferenceBatch]))) : inThreadFolder();
        if (!threaded) await early?.close();
        early = undefined;
        const acc = new Map<string, TensorSummary>(tensors.map((t) => [t, {
          count: 0, min: Infinity, max: -Infinity, top: new ExtremeKeeper(k, true), bottom: new ExtremeKeeper(k, false), histogram: new MergedHistogram(),
        }]));
        let wantK = 0;
        let unusable = false;
        const passRanges = new Map<string, TensorRange>();
        const extraFeeds = builder.extremesFeed(k);
        const done = await runPass(session, builder.outputs, inferenceBatch, 1, async (r, feeds, run) => {
          for (const [t, o] of rangeOutputs) widenRange(passRanges, t, Number(r[o.min].data[0]), Number(r[o.max].data[0]));
          const items: FoldItem[] = [];
          for (const t of tensors) {
            throwIfAborted(signal);
            const o = outputs.get(t)!;
            const s = acc.get(t)!;
            const values = (o.raw ? r[o.raw] : feeds[t]).data;
            if (values.length === 0) continue; // a body tensor no sample of this batch reached (an If branch not taken)
            const min = Number(r[o.extremes.min].data[0]);
            const max = Number(r[o.extremes.max].data[0]);
            if (!Number.isFinite(min) || !Number.isFinite(max) || !(values instanceof Float32Array)) {
              unusable = true; // NaN, infinity or not float32: the held method reports it with the layer's name
              return false;
            }
            s.min = Math.min(s.min, min);
            s.max = Math.max(s.max, max);
            s.top.add(beyond(r[o.extremes.topRows].data as Float32Array, Number(r[o.extremes.topTau].data[0]), true), Number(r[o.extremes.topTau].data[0]));
            s.bottom.add(beyond(r[o.extremes.bottomRows].data as Float32Array, Number(r[o.extremes.bottomTau].data[0]), false), Number(r[o.extremes.bottomTau].data[0]));
            // ORT's own outputs may move to a folding thread; a graph input's buffer is the dataset's
            items.push({ tensor: t, values, min, max, movable: o.raw !== undefined });
            s.count += values.length;
            if (run === 1) wantK = Math.max(wantK, extremesNeeded(layersOf(t), Math.ceil((values.length * need) / inferenceBatch)));
          }
          if (wantK > k) return false;
          await folder!.fold(items);
          return true;
        }, { extraFeeds });
        if (unusable) return null;
        if (done) {
          const histograms = await folder.finish();
          for (const [t, s] of acc) s.histogram = histograms.get(t) ?? s.histogram;
          for (const [t, s] of acc) {
            if (!Number.isFinite(s.histogram.total())) return null; // a NaN the extremes missed
            wantK = Math.max(wantK, extremesNeeded(layersOf(t), s.count));
          }
          if (wantK <= k) {
            summaries = acc;
            ranges = finiteRanges(passRanges);
            runBatch = inferenceBatch;
            summary = {
              session, builder, raw: new Map([...outputs].map(([t, o]) => [t, o.raw])), any: outputs.values().next().value!.extremes.max, feeds: extraFeeds,
              outputsOf: new Map([
                ...[...outputs].map(([t, o]): [string, string[]] => [t, [...Object.values(o.extremes), ...(o.raw ? [o.raw] : [])]]),
                ...[...rangeOutputs].map(([t, o]): [string, string[]] => [`${t}\0range`, [o.min, o.max]]),
              ]),
            };
            break;
          }
        }
        if (wantK > STREAM_MAX_K) return null;
        k = Math.max(2 * k, wantK);
      } finally {
        await folder?.close();
      }
    }
  } finally {
    await early?.close();
    if (!summary) await session?.release();
  }

  // (a body layer whose tensor got no values is left out: calibrate() reports it)
  layers = layers.filter((l) => summaries.get(l.inputTensor)!.count > 0);
  try {
    return await finishStreaming(summary, summaries);
  } finally {
    await summary.session.release();
  }

  /** IFMR from the summaries, and the second pass (or passes) for the candidates they leave open. */
  async function finishStreaming(
    summary: SummaryPass, summaries: Map<string, TensorSummary>,
  ): Promise<CalibrationResult | null> {
    // IFMR from the summaries; the candidates they cannot decide are measured exactly in one more pass: the values
    // of the bins their level steps cross, summed one by one in JavaScript (candidate-refiner.ts, flat memory).
    const plans = new Map<string, IfmrPlan>();
    for (const l of layers) {
      throwIfAborted(signal);
      plans.set(l.name, planIfmr(summaries.get(l.inputTensor)!, l.config.activation));
    }
    const exact = new Map<string, Map<number, number>>();
    const undecided = layers.filter((l) => plans.get(l.name)!.undecided.length > 0);
    if (undecided.length > 0) {
      passes = 2;
      const refine = async (list: typeof undecided, session: ort.InferenceSession, fetches: string[]) => {
        const refiners = list.map((l) => ({ layer: l, raw: summary.raw.get(l.inputTensor), refiner: new CandidateRefiner(summaries.get(l.inputTensor)!.histogram, plans.get(l.name)!) }));
        await runPass(session, fetches, runBatch, passes, (r, feeds) => {
          for (const w of refiners) {
            throwIfAborted(signal);
            w.refiner.add((w.raw ? r[w.raw] : feeds[w.layer.inputTensor]).data as Float32Array);
          }
        }, { extraFeeds: summary.feeds });
        return refiners;
      };
      // The second pass runs only what the open layers' inputs need: no reductions, and nothing after the last of
      // them. Its activations are normally the summary pass's bit for bit; the re-counted bins prove it per layer,
      // and a layer whose counts differ is refined once more on the summary's own session.
      const fetches = [...new Set(undecided.flatMap((l) => summary.raw.get(l.inputTensor) ?? []))];
      const pruned = fetches.length > 0 ? await openPruned(summary, fetches) : undefined;
      let refined: Awaited<ReturnType<typeof refine>>;
      try {
        refined = await refine(undecided, pruned ?? summary.session, pruned ? fetches : [summary.any]);
      } finally {
        await pruned?.release();
      }
      const moved = refined.filter((w) => !w.refiner.consistent()).map((w) => w.layer);
      if (pruned && moved.length > 0) {
        passes++;
        refined = [...refined.filter((w) => w.refiner.consistent()), ...await refine(moved, summary.session, [...new Set(moved.flatMap((l) => summary.raw.get(l.inputTensor) ?? []))].concat(summary.any))];
      }
      for (const w of refined) {
        const sums = w.refiner.result();
        if (sums) exact.set(w.layer.name, sums);
      }
    }
    // The few layers whose refined sums cannot part two candidates (a near-tie within round-off): exact losses
    // computed inside the graph, a few candidates per pass so that the float64 copies stay small.
    const pairs = undecided.filter((l) => !exact.has(l.name)).flatMap((l) => plans.get(l.name)!.undecided.map((i) => ({ layer: l, i })));
    for (const p of pairs) exact.set(p.layer.name, new Map());
    for (let at = 0; at < pairs.length; at += EXACT_CANDIDATES_PER_PASS) {
      passes++;
      const builder = new ReductionBuilder(model);
      const wanted = pairs.slice(at, at + EXACT_CANDIDATES_PER_PASS).map((p) => {
        exact.get(p.layer.name)!.set(p.i, 0);
        return { ...p, output: builder.addExactLosses(p.layer.inputTensor, [plans.get(p.layer.name)!.quantizers[p.i]])[0] };
      });
      builder.pruneToOutputs();
      const session = await open(builder);
      if (!session) return null;
      try {
        await runPass(session, builder.outputs, runBatch, passes, (r) => {
          for (const w of wanted) {
            const sums = exact.get(w.layer.name)!;
            sums.set(w.i, sums.get(w.i)! + Number(r[w.output].data[0]));
          }
        });
      } finally {
        await session.release();
      }
    }

    const results: LayerCalibration[] = [];
    layers.forEach((l, i) => {
      onProgress?.({ stage: 'ifmr', done: i, total: layers.length, layer: l.name });
      const s = summaries.get(l.inputTensor)!;
      const ifmr = finishIfmr(plans.get(l.name)!, s.count, exact.get(l.name));
      results.push({ ...l, ifmr, stats: summarizeFromMergedHistogram(s.histogram, s.min, s.max) });
      onProgress?.({ stage: 'ifmr', done: i + 1, total: layers.length, layer: l.name });
    });
    return { layers: results, batches: batchNum, batchSize, samples: need, passes, ranges };
  }
}

/** The held method: every input gathered whole (within the memory budget) and searched exactly. */
async function calibrateHeld(model: OnnxModel, dataset: Dataset, layers: EnabledLayer[], opts: PassOptions): Promise<CalibrationResult> {
  const { signal, onProgress, batchSize, batchNum } = opts;
  const budget = opts.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET;
  const need = batchNum * batchSize;
  // inferences per pass: batch_num, or one per sample when images run at their own sizes
  const runs = Math.ceil(need / dataset.runSize(batchSize));

  const graphInputs = new Set(model.graph.feedInputs.map((v) => v.name ?? ''));
  const tensors = [...new Set(layers.map((l) => l.inputTensor))];
  const layersOf = (t: string) => layers.filter((l) => l.inputTensor === t);

  /** Run the data once with `exposed` tensors as outputs; `take` gets each batch's tensors. Returns false if stopped early. */
  const runPass = async (
    exposed: string[],
    pass: number,
    passes: () => number,
    take: (i: number, values: Map<string, Float32Array>) => boolean,
  ): Promise<boolean> => {
    const outputs = exposed.filter((t) => !graphInputs.has(t));
    const session = await createSession(exposeTensors(model, outputs), { forComparison: opts.optimize === false, intraOpNumThreads: opts.intraOpNumThreads });
    try {
      let i = 0;
      for await (const batch of dataset.batches({ batchSize, limit: need })) {
        throwIfAborted(signal);
        const feeds = toOrtFeeds(batch.feeds);
        let result: Record<string, ort.Tensor>;
        try {
          result = (await (outputs.length ? session.run(feeds, outputs) : session.run(feeds))) as Record<string, ort.Tensor>;
        } catch (err) {
          throw runFailure(batch, err);
        }
        const values = new Map<string, Float32Array>();
        for (const t of exposed) values.set(t, asFloat32(graphInputs.has(t) ? feeds[t] : result[t], t));
        i++;
        onProgress?.({ stage: 'calibrate', done: (pass - 1) * runs + i, total: passes() * runs, pass, passes: passes() });
        if (!take(i, values)) return false;
      }
      return true;
    } finally {
      await session.release();
    }
  };

  const results = new Map<string, LayerCalibration>();
  let ifmrDone = 0;
  const searchExact = (t: string, chunks: Float32Array[]) => {
    if (chunks.every((c) => c.length === 0)) return; // a body tensor no sample reached: calibrate() reports it
    for (const l of layersOf(t)) {
      throwIfAborted(signal);
      onProgress?.({ stage: 'ifmr', done: ifmrDone, total: layers.length, layer: l.name });
      const ifmr = ifmrSearch(chunks, l.config.activation, { layer: l.name });
      results.set(l.name, { ...l, ifmr, stats: summarizeActivation(chunks) });
      onProgress?.({ stage: 'ifmr', done: ++ifmrDone, total: layers.length, layer: l.name });
    }
  };

  // Pass 1 holds everything, unless the first batch shows it will not fit.
  let held = new Map<string, Float32Array[]>(tensors.map((t) => [t, []]));
  let plan: { groups: string[][]; oversized: string[] } | undefined;
  let passCount = 1;
  const complete = await runPass(tensors, 1, () => passCount, (i, values) => {
    if (i === 1) {
      const bytes = new Map<string, number>();
      for (const t of tensors) bytes.set(t, values.get(t)!.length * 4 * runs);
      const total = [...bytes.values()].reduce((a, b) => a + b, 0);
      if (total > budget) {
        plan = planGroups(bytes, budget);
        passCount = plan.groups.length + (plan.oversized.length ? 2 : 0);
        return false;
      }
    }
    for (const t of tensors) held.get(t)!.push(values.get(t)!);
    return true;
  });
  if (complete && !plan) {
    for (const t of tensors) searchExact(t, held.get(t)!);
    held.clear();
  } else {
    held = new Map();
    let pass = 0;
    for (const group of plan!.groups) {
      pass++;
      const chunks = new Map<string, Float32Array[]>(group.map((t) => [t, []]));
      await runPass(group, pass, () => passCount, (_, values) => {
        for (const t of group) chunks.get(t)!.push(values.get(t)!);
        return true;
      });
      for (const t of group) {
        searchExact(t, chunks.get(t)!);
        chunks.delete(t);
      }
    }
    if (plan!.oversized.length) {
      const over = plan!.oversized;
      const hists = new Map(over.map((t) => [t, new StreamingIfmrHistogram(layersOf(t)[0].name)]));
      await runPass(over, ++pass, () => passCount, (_, values) => {
        for (const t of over) hists.get(t)!.observeRange(values.get(t)!);
        return true;
      });
      await runPass(over, ++pass, () => passCount, (_, values) => {
        for (const t of over) hists.get(t)!.accumulate(values.get(t)!);
        return true;
      });
      for (const t of over) {
        const h = hists.get(t)!.result();
        for (const l of layersOf(t)) {
          throwIfAborted(signal);
          onProgress?.({ stage: 'ifmr', done: ifmrDone, total: layers.length, layer: l.name });
          const ifmr = ifmrSearchHistogram(h, l.config.activation);
          results.set(l.name, { ...l, ifmr, stats: summarizeFromIfmrHistogram(h) });
          onProgress?.({ stage: 'ifmr', done: ++ifmrDone, total: layers.length, layer: l.name });
        }
      }
    }
  }
  return {
    layers: layers.flatMap((l) => results.get(l.name) ?? []),
    batches: batchNum,
    batchSize,
    samples: need,
    passes: passCount,
  };
}
