// The accuracy analyzer's entry point: loads the models and samples, runs the
// three views of each layer's error (accumulated, isolated, weight), adds the
// quantization run's activation statistics and, on request, output
// sensitivity, then ranks the layers to keep in float.
import { ANALYSIS_REPORT_VERSION } from '../../shared/analysis-file';
import { QtuneError } from '../../shared/errors';
import {
  DEFAULT_THRESHOLDS, type AnalysisProgress, type AnalysisReport, type AnalysisStage, type AnalysisThresholds,
  type AnalysisWarning, type LayerAnalysis, type TensorComparison,
} from '../../shared/analysis-types';
import type { Dataset, ModelInputSpec } from '../data/dataset';
import { openDataFor } from '../data/for-model';
import { findQuantizableLayers, inputSpecs, loadModel, type OnnxModel } from '../onnx';
import { compareAccumulated, matchTensors } from './compare';
import { isolatedSensitivity, prepareTwinPass, type TwinPass } from './isolated';
import { outputSensitivity } from './output-sensitivity';
import { exposeSharedBodyTensors, readQdqLayersWithBodies, scopedTensorName } from './subgraph-layers';
import { resolveFloatReference } from './reference';
import { cancelPoint, firstSamples, SampleStream } from './samples';
import { readStatsFile } from './stats';
import { suggestSkips } from './suggest';
import { weightError } from './weights';

export interface AnalyzeOptions {
  /** the float model (path or loaded) */
  floatModel: string | OnnxModel;
  /** the QDQ model written by the quantization run */
  quantModel: string | OnnxModel;
  /** the BN-fused float model of the same run: the float reference when given */
  fusedFloatModel?: string | OnnxModel;
  /** an opened dataset, or data as the CLI takes it (.npy, .npz[:key], image folder, manifest .json) */
  dataset: Dataset | string;
  /** samples compared (default 32) */
  samples?: number;
  batchSize?: number;
  /** <name>_stats.json of the quantization run */
  statsPath?: string;
  thresholds?: Partial<AnalysisThresholds>;
  /** tensors exposed per inference in the accumulated comparison (default 128) */
  maxTensorsPerRun?: number;
  /** measure output sensitivity (slower): false (default) or its budget */
  outputSensitivity?: false | { maxLayers?: number; timeBudgetMs?: number; samples?: number };
  onProgress?: (p: AnalysisProgress) => void;
  signal?: AbortSignal;
}

const pathOf = (m: string | OnnxModel): string => (typeof m === 'string' ? m : m.path ?? '<memory>');
const load = (m: string | OnnxModel): OnnxModel => (typeof m === 'string' ? loadModel(m) : m);

/** Both models must take the same inputs, or comparing them means nothing. */
function checkSameInputs(float: OnnxModel, quant: OnnxModel, floatPath: string, quantPath: string): void {
  const f = inputSpecs(float), q = inputSpecs(quant);
  const describe = (s: ModelInputSpec[]) => s.map((i) => `${i.name}: ${i.type} [${i.dims.join(', ')}]`).join('; ');
  const same = f.length === q.length && f.every((a, i) => a.name === q[i].name && a.type === q[i].type && a.dims.length === q[i].dims.length);
  if (!same) {
    throw new QtuneError('analyze_inputs', `the two models take different inputs: ${floatPath} has ${describe(f)}, ${quantPath} has ${describe(q)}`, {
      file: quantPath, hint: 'compare a quantized model with the float model it was made from',
    });
  }
}

/** Quantizable layers with no quantizable layer before them (input layers) or after them (output layers). */
function layerPositions(model: OnnxModel, names: Set<string>): { inputs: Set<string>; outputs: Set<string> } {
  const order = model.graph.topologicalOrder();
  const up = new Set<string>(); // tensors with a quantizable layer upstream
  const inputs = new Set<string>();
  for (const n of order) {
    const fromLayer = n.input.some((i) => up.has(i));
    const isLayer = names.has(n.name ?? '');
    if (isLayer && !fromLayer) inputs.add(n.name!);
    if (isLayer || fromLayer) for (const o of n.output) up.add(o);
  }
  const down = new Set<string>(); // tensors read by a path reaching a quantizable layer
  const outputs = new Set<string>();
  for (const n of [...order].reverse()) {
    const toLayer = n.output.some((o) => down.has(o));
    const isLayer = names.has(n.name ?? '');
    if (isLayer && !toLayer) outputs.add(n.name!);
    if (isLayer || toLayer) for (const i of n.input) down.add(i);
  }
  return { inputs, outputs };
}

export async function analyzeModels(opts: AnalyzeOptions): Promise<AnalysisReport> {
  const thresholds: AnalysisThresholds = { ...DEFAULT_THRESHOLDS, ...opts.thresholds };
  const timings: AnalysisReport['timings'] = {};
  const warnings: AnalysisWarning[] = [];
  let stageStart = Date.now();
  const stage = (s: AnalysisStage) => {
    const now = Date.now();
    timings[s] = (timings[s] ?? 0) + (now - stageStart) / 1000;
    stageStart = now;
  };
  const progress = (s: AnalysisStage) => (done: number, total: number) => opts.onProgress?.({ stage: s, done, total });

  progress('load')(0, 1);
  const floatPath = pathOf(opts.floatModel), quantPath = pathOf(opts.quantModel);
  const quant = load(opts.quantModel);
  // checked against the float model the quantized model records; the run's fused float model, rebuilt when not given
  const resolved = await resolveFloatReference({ floatModel: opts.floatModel, fusedFloatModel: opts.fusedFloatModel, quant, quantPath });
  const { reference, referencePath } = resolved;
  warnings.push(...resolved.warnings);
  checkSameInputs(reference, quant, referencePath, quantPath);
  const qdq = readQdqLayersWithBodies(quant);
  for (const w of qdq.warnings) warnings.push({ code: 'qdq_layer', message: w.message, layer: w.layer });
  if (qdq.qdqNodeCount === 0) {
    warnings.push({ code: 'not_qdq', message: `${quantPath} has no QuantizeLinear/DequantizeLinear nodes: it is not a QDQ model, so no layer is known to be quantized (only tensors are compared)` });
  } else if (qdq.layers.length === 0) {
    warnings.push({ code: 'no_quantized_layers', message: `${quantPath} has Q/DQ nodes but no quantizable layer (Conv, ConvTranspose, Gemm, MatMul, AveragePool) is fed through QuantizeLinear → DequantizeLinear` });
  }
  const match = matchTensors(reference, quant);
  if (match.common.length === 0) {
    throw new QtuneError('analyze_no_common_tensors', `${referencePath} and ${quantPath} have no tensor names in common, so they cannot be compared layer by layer`, {
      file: quantPath, hint: 'the quantized model must keep the float model\'s tensor names (qtune\'s QDQ export does)',
    });
  }
  progress('load')(1, 1);
  stage('load');

  const samples = Math.max(1, opts.samples ?? 32);
  const dataset = typeof opts.dataset === 'string' ? await openDataFor(reference, { data: opts.dataset }) : opts.dataset;
  // read anew on each pass: the inputs of a few hundred real-size samples would outweigh everything else held
  const batches = await SampleStream.open(dataset, samples, opts.batchSize ?? 8, opts.signal);
  stage('data');

  // tensors inside If/Loop/Scan bodies are compared as main-graph outputs named <node>/<attribute>/<tensor>
  const exposed = exposeSharedBodyTensors(reference, quant);
  const mainLayers = qdq.layers.filter((l) => !qdq.inBodies.has(l.name));
  if (mainLayers.length < qdq.layers.length) {
    warnings.push({ code: 'isolated_failed', message: `isolated sensitivity is not measured for the ${qdq.layers.length - mainLayers.length} quantized layer(s) inside If/Loop/Scan bodies (their accumulated and weight errors are)` });
  }
  // The isolated pass rides on the accumulated one: its twin model computes every float tensor as well, so it
  // runs in place of the float model and the samples go through the float layers once (the ranks the
  // comparison's probe saw spare the twin a probing inference).
  let twin: TwinPass | undefined;
  const acc = await compareAccumulated(exposed.float, exposed.quant, qdq.layers, {
    batches, maxTensorsPerRun: opts.maxTensorsPerRun, signal: opts.signal, onProgress: progress('accumulated'),
    rider: async (ranks) => (twin = await prepareTwinPass(exposed.float, quant, mainLayers, { firstBatch: batches.first, knownRanks: ranks })),
  });
  stage('accumulated');
  // the accumulated pass went through every sample (unreadable images skipped)
  const sampleIndices = batches.indices ?? [];
  if (sampleIndices.length < samples) warnings.push({ code: 'few_samples', message: `the data holds ${sampleIndices.length} samples; ${samples} were asked for` });

  const iso = twin ? twin.result() : await isolatedSensitivity(reference, quant, mainLayers, { batches, knownRanks: acc.ranks, rowsPerRun: acc.rowsPerRun, signal: opts.signal, onProgress: progress('isolated') });
  progress('isolated')(1, 1);
  for (const f of iso.failed) warnings.push({ code: 'isolated_failed', message: `isolated sensitivity not measured: ${f.message}`, layer: f.layer });
  stage('isolated');

  // a body layer's tensors as the comparison names them
  const refLayers = findQuantizableLayers(reference).map((l) => (l.subgraph
    ? { ...l, inputTensor: scopedTensorName(l.subgraph, l.inputTensor), outputTensor: scopedTensorName(l.subgraph, l.outputTensor) }
    : l));
  const infoByName = new Map(refLayers.map((l) => [l.name, l]));
  const weights = new Map<string, ReturnType<typeof weightError>>();
  // a second or more on a real-size model, all synchronous: a Cancel is looked for between layers
  const pause = cancelPoint(opts.signal);
  for (const [i, l] of qdq.layers.entries()) {
    await pause();
    try {
      weights.set(l.name, weightError(reference, l, infoByName.get(l.name)?.channelAxis));
    } catch (e) {
      if (!(e instanceof QtuneError)) throw e;
      warnings.push({ code: 'weight_error_failed', message: e.message, layer: l.name });
    }
    progress('weights')(i + 1, qdq.layers.length);
  }
  const stats = opts.statsPath ? await readStatsFile(opts.statsPath) : undefined;
  stage('weights');

  const byTensor = new Map<string, TensorComparison>(acc.tensors.map((t) => [t.name, t]));
  const qdqByName = new Map(qdq.layers.map((l) => [l.name, l]));
  const graphInputs = new Set(reference.graph.feedInputs.map((v) => v.name ?? ''));
  const cosOf = (t: string): number | undefined => (graphInputs.has(t) ? 1 : byTensor.get(t)?.metrics.CosineSimilarity.mean);
  const quantizable = refLayers.filter((l) => l.quantizable || qdqByName.has(l.name));
  for (const l of qdq.layers) {
    if (!infoByName.has(l.name)) warnings.push({ code: 'layer_not_in_float', message: `quantized layer '${l.name}' has no node of that name in ${referencePath}`, layer: l.name });
  }
  const pos = layerPositions(reference, new Set(quantizable.map((l) => l.name)));
  const layers: LayerAnalysis[] = quantizable.map((info) => {
    const q = qdqByName.get(info.name);
    const out = byTensor.get(info.outputTensor);
    const cosOut = out?.metrics.CosineSimilarity.mean;
    const cosIn = cosOf(q?.inputTensor ?? info.inputTensor);
    const entry: LayerAnalysis = {
      name: info.name, opType: info.opType, quantized: !!q,
      inputTensor: q?.inputTensor ?? info.inputTensor, outputTensor: info.outputTensor, paramCount: info.paramCount,
      isInputLayer: pos.inputs.has(info.name), isOutputLayer: pos.outputs.has(info.name),
    };
    if (cosOut !== undefined) {
      entry.accumulatedCosine = cosOut;
      entry.accumulatedSqnrDb = out!.metrics.SQNR.mean;
      if (cosIn !== undefined) {
        entry.accumulatedInputCosine = cosIn;
        entry.accumulatedCosineDrop = cosIn - cosOut;
      }
    }
    const i = iso.byLayer.get(info.name);
    if (i) entry.isolated = i;
    const w = weights.get(info.name);
    if (w) entry.weight = w;
    const s = stats?.get(info.name);
    if (s) entry.activation = s;
    return entry;
  });
  if (stats && qdq.layers.length > 0 && !qdq.layers.some((l) => stats.has(l.name))) {
    warnings.push({ code: 'stats_unmatched', message: `${opts.statsPath} names none of the quantized layers` });
  }

  if (opts.outputSensitivity) {
    const o = opts.outputSensitivity;
    const ranked = [...qdq.layers].sort((a, b) => (iso.byLayer.get(a.name)?.sensitivity ?? 1) - (iso.byLayer.get(b.name)?.sensitivity ?? 1));
    const few = await firstSamples(batches, o.samples || undefined);
    const r = await outputSensitivity(reference, quant, ranked, {
      batches: few, maxLayers: o.maxLayers, timeBudgetMs: o.timeBudgetMs, signal: opts.signal, onProgress: progress('output-sensitivity'),
    });
    for (const l of layers) { const e = r.byLayer.get(l.name); if (e) l.output = e; }
    if (r.skipped.length) warnings.push({ code: 'output_sensitivity_budget', message: `output sensitivity not measured for ${r.skipped.length} layer(s) (budget spent): ${r.skipped.slice(0, 5).join(', ')}${r.skipped.length > 5 ? ', ...' : ''}` });
    stage('output-sensitivity');
  }

  const suggestions = suggestSkips(layers, thresholds);
  progress('suggest')(1, 1);
  stage('suggest');

  const outputs = reference.graph.outputs
    .map((v) => byTensor.get(v.name ?? ''))
    .filter((t): t is TensorComparison => !!t)
    .map((t) => ({ name: t.name, cosine: t.metrics.CosineSimilarity.mean, sqnrDb: t.metrics.SQNR.mean }));

  const worstOutput = Math.min(...outputs.map((o) => o.cosine).filter((c) => !Number.isNaN(c)));
  if (outputs.length > 0 && worstOutput >= thresholds.accumulatedCosine && suggestions.length > 0) {
    warnings.push({
      code: 'output_close',
      message: `the quantized model's output already has cosine ${worstOutput.toFixed(5)} (≥ ${thresholds.accumulatedCosine}) to the float output: if accuracy is fine, nothing needs skipping; the suggestions below rest on small differences`,
    });
  }

  return {
    version: ANALYSIS_REPORT_VERSION,
    createdAt: new Date().toISOString(),
    floatModel: floatPath,
    quantModel: quantPath,
    referenceModel: referencePath,
    ...(opts.statsPath ? { statsFile: opts.statsPath } : {}),
    samples: sampleIndices.length,
    sampleIndices,
    thresholds,
    tensors: acc.tensors,
    onlyInFloat: acc.onlyInFloat,
    onlyInQuant: acc.onlyInQuant,
    notCompared: acc.notCompared,
    layers,
    outputs,
    suggestions,
    warnings,
    timings,
  };
}
