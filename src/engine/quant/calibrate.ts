// Calibration: run the (fused) float model over batch_num batches with every
// enabled layer's input exposed, gather each input, and run IFMR per layer.
//
// Memory stays within a budget: the first batch tells how large each input is;
// when everything fits it is all held in one pass, otherwise the inputs are
// split into groups that fit and the data is run once per group. An input too
// large to hold alone is reduced to a fine histogram over two passes (range,
// then bins) and searched in IFMR's approximate mode, flagged as such.
import { QtuneError } from '../../shared/errors';
import type { QuantConfig, ResolvedLayerConfig } from '../../shared/config-types';
import type { QuantizeProgress } from '../../shared/quant-types';
import { openDataset, type Batch, type Dataset, type ModelInputSpec } from '../data/dataset';
import { datasetFromShortForm, type ShortForm } from '../data/manifest';
import { createSession, exposeTensors, findQuantizableLayers, ort, shapeOf, typeName, type OnnxModel } from '../onnx';
import { StreamingIfmrHistogram, summarizeActivation, summarizeFromIfmrHistogram, type ActivationSummary } from './activation-stats';
import { effectiveLayerConfig } from './config';
import { ifmrSearch, ifmrSearchHistogram, type IfmrResult } from './ifmr';

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
}

export interface EnabledLayer {
  name: string;
  opType: string;
  inputTensor: string;
  outputTensor: string;
  kernelDims?: number;
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
}

/** Quantizable layers that the config enables, in node order. */
export function enabledLayers(model: OnnxModel, config: QuantConfig): EnabledLayer[] {
  const out: EnabledLayer[] = [];
  for (const l of findQuantizableLayers(model)) {
    if (!l.quantizable) continue;
    const resolved = effectiveLayerConfig(config, l.name, { opType: l.opType, kernelDims: l.kernelDims });
    if (!resolved) continue;
    out.push({ name: l.name, opType: l.opType, inputTensor: l.inputTensor, outputTensor: l.outputTensor, kernelDims: l.kernelDims, config: resolved });
  }
  return out;
}

/** The model's inputs as the dataset module wants them, read from the model itself. */
export function inputSpecsOf(model: OnnxModel): ModelInputSpec[] {
  return model.graph.feedInputs.map((v) => ({ name: v.name ?? '', dims: shapeOf(v.type) ?? [], type: typeName(v.type) }));
}

export type DataSpec = Omit<ShortForm, 'inputName'> & { skipBadImages?: boolean };

/** Open calibration data given in short form (a .npy, image folder, .bin folder or manifest) for `model`. */
export async function openCalibrationData(model: OnnxModel, spec: DataSpec): Promise<Dataset> {
  const inputs = inputSpecsOf(model);
  if (inputs.length === 0) throw new QtuneError('model_invalid', `${model.path ?? 'model'} has no inputs to feed`, { file: model.path });
  const { skipBadImages, ...form } = spec;
  const desc = await datasetFromShortForm({ ...form, inputName: inputs[0].name });
  return openDataset(desc, { inputs, skipBadImages });
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new QtuneError('cancelled', 'calibration was cancelled');
}

function asFloat32(t: ort.Tensor, tensor: string): Float32Array {
  if (t.type !== 'float32') throw new QtuneError('activation_not_float', `tensor '${tensor}' is ${t.type}; only float32 activations can be calibrated`, { path: tensor });
  return t.data as Float32Array;
}

function toOrtFeeds(batch: Batch): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(batch.feeds)) feeds[name] = new ort.Tensor(f.type, f.data, f.dims);
  return feeds;
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
  const { signal, onProgress } = opts;
  const budget = opts.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET;
  const layers = enabledLayers(model, config);
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
  checkAborted(signal);

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
    const session = await createSession(exposeTensors(model, outputs), { forComparison: false, intraOpNumThreads: opts.intraOpNumThreads });
    try {
      let i = 0;
      for await (const batch of dataset.batches({ batchSize, limit: need })) {
        checkAborted(signal);
        const feeds = toOrtFeeds(batch);
        let result: Record<string, ort.Tensor>;
        try {
          result = (await session.run(feeds, outputs)) as Record<string, ort.Tensor>;
        } catch (err) {
          const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
          throw new QtuneError('inference_failed', `calibration inference failed on samples ${batch.indices[0]}…${batch.indices.at(-1)}: ${reason}`);
        }
        const values = new Map<string, Float32Array>();
        for (const t of exposed) values.set(t, asFloat32(graphInputs.has(t) ? feeds[t] : result[t], t));
        i++;
        onProgress?.({ stage: 'calibrate', done: (pass - 1) * batchNum + i, total: passes() * batchNum, pass, passes: passes() });
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
    for (const l of layersOf(t)) {
      checkAborted(signal);
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
      for (const t of tensors) bytes.set(t, values.get(t)!.length * 4 * batchNum);
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
          checkAborted(signal);
          onProgress?.({ stage: 'ifmr', done: ifmrDone, total: layers.length, layer: l.name });
          const ifmr = ifmrSearchHistogram(h, l.config.activation);
          results.set(l.name, { ...l, ifmr, stats: summarizeFromIfmrHistogram(h) });
          onProgress?.({ stage: 'ifmr', done: ++ifmrDone, total: layers.length, layer: l.name });
        }
      }
    }
  }
  return {
    layers: layers.map((l) => results.get(l.name)!),
    batches: batchNum,
    batchSize,
    samples: need,
    passes: passCount,
  };
}
