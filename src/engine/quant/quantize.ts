// The whole quantization run: load → (opset upgrade) → BN fusion → calibration
// → QDQ export, then the files a run leaves behind, written all-or-nothing:
//   <name>_quant_model.onnx   the int8 QDQ model
//   <name>_fused_float.onnx   the float model after fusion (what the analyzer compares against)
//   <name>_record.txt         scales and offsets in the AMCT record format
//   <name>_config.json        the configuration applied, defaults written out
//   <name>_stats.json         per-layer activation statistics and the IFMR search
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { QuantConfig } from '../../shared/config-types';
import { QtuneError, throwIfAborted } from '../../shared/errors';
import { uint8WeightsNote, type LayerQuantStats, type QuantStatsFile, type QuantizeProgress, type QuantizeResult, type QuantizedLayerSummary, type Uint8WeightLayers } from '../../shared/quant-types';
import type { Dataset } from '../data/dataset';
import { findQuantizableLayers, loadModelAsync, saveModelAsync, type OnnxModel } from '../onnx';
import { checkpoint, runSteps } from '../cancel';
import type { ArqResult } from './arq';
import { calibrate, enabledLayers } from './calibrate';
import { openDataFor, type DataForm } from '../data/for-model';
import {
  configInvalidError,
  createQuantConfig,
  effectiveConfig,
  formatQuantConfig,
  parseQuantConfigFile,
  quantConfigToJson,
  validateQuantConfig,
  type ConfigLayer,
  type ConfigModel,
} from './config';
import { fusibleLayers, type FusionResult } from './fusion';
import { fuseAsConfigured, upgradedForQdq } from './prepare';
import { provenanceOf, recordProvenance } from './provenance';
import { u8s8IsExact } from '../deploy/kernel-probe';
import { firstFeeds } from '../deploy/feeds';
import { saturatingLayers } from '../deploy/saturation';
import { DEFAULT_EXPORT_TARGET, exportQdqSteps, QDQ_MIN_OPSET, type ExportTarget, type WeightStorage } from './qdq-export';
import { tensorsNeedingRanges } from './qdq-plan';
import { measureRanges } from './tensor-ranges';
import { formatRecord } from './record';

export interface QuantizeOptions {
  modelPath: string;
  /** a QuantConfig, the parsed JSON of a config.json, or its path; default: the generated config */
  config?: QuantConfig | Record<string, unknown> | string;
  /** an opened dataset, or where the calibration data is (see openDataFor) */
  dataset: Dataset | DataForm;
  outDir: string;
  /** file name prefix of the outputs */
  name: string;
  batchSize: number;
  onProgress?: (p: QuantizeProgress) => void;
  signal?: AbortSignal;
  memoryBudgetBytes?: number;
  /** replaces the config's batch_num (the CLI's --batch_num) */
  batchNum?: number;
  /** "stream" (default) or "held" (see calibrate) */
  calibrationMethod?: 'stream' | 'held';
  /** threads folding calibration values (see CalibrateOptions.foldThreads) */
  foldThreads?: number;
  /** calibrates instead of calibrate() (same contract), e.g. one that reuses earlier layers' results */
  calibrator?: typeof calibrate;
  /** the runtime the quantized model's layout is made for (default ort-cpu); the numbers do not change */
  target?: ExportTarget;
  /** ort-cpu weight storage; default 'auto': int8 where this machine's onnxruntime multiplies uint8 × int8 exactly, else uint8 */
  weights?: WeightStorage | 'auto';
}

export function outputFiles(outDir: string, name: string) {
  const dir = resolve(outDir);
  return {
    quantModel: join(dir, `${name}_quant_model.onnx`),
    fusedFloatModel: join(dir, `${name}_fused_float.onnx`),
    record: join(dir, `${name}_record.txt`),
    config: join(dir, `${name}_config.json`),
    stats: join(dir, `${name}_stats.json`),
  };
}

/** What config.json validation needs to know about a model. */
export function configModelOf(model: OnnxModel): ConfigModel {
  const layers: ConfigLayer[] = findQuantizableLayers(model)
    .filter((l) => l.quantizable)
    .map((l) => ({ name: l.name, opType: l.opType, kernelDims: l.kernelDims }));
  return { layers, fusible: fusibleLayers(model) };
}

function isQuantConfig(v: unknown): v is QuantConfig {
  return typeof v === 'object' && v !== null && 'layers' in v && typeof (v as QuantConfig).layers === 'object' && !Array.isArray((v as QuantConfig).layers);
}

/** The config to apply, validated against the model (clear errors, with name suggestions, for another model's config). */
export function resolveQuantConfig(config: QuantizeOptions['config'], cm: ConfigModel): QuantConfig {
  if (config === undefined) return createQuantConfig(cm.layers);
  if (typeof config === 'string') return parseQuantConfigFile(config, cm);
  const json = isQuantConfig(config) ? quantConfigToJson(config) : config;
  const r = validateQuantConfig(json, cm);
  if (!r.ok) throw configInvalidError(r.errors);
  return r.config;
}

function isDataset(d: Dataset | DataForm): d is Dataset {
  return typeof (d as Dataset).batches === 'function';
}

/**
 * Fraction of a layer's output codes its int8-weight kernel may get wrong (by more than one step) on the
 * calibration samples before its weights are stored as uint8. Measured: stems and wide 1x1 expansions on
 * images saturate on 1–13% of their outputs; deep ResNet-50 layers on ~0.002%, which moves no prediction.
 */
const SATURATION_TOLERANCE = 1e-3;
/**
 * Calibration samples the check runs. On ResNet-50, MobileNetV2-224 and EfficientNet-B0, 4, 8 and 16 samples
 * flag the same layers (the closest, a MobileNetV2 expansion, at 0.84–0.90 of the tolerance); each sample costs
 * about a quarter of a plain inference pass of 64 samples, more than the rest of the export.
 */
export const SATURATION_SAMPLES = 8;

function layerSummaries(
  model: OnnxModel, config: QuantConfig, enabled: Map<string, { scale: number; offset: number; approximate: boolean }>, uncalibrated: Map<string, string>,
): QuantizedLayerSummary[] {
  return findQuantizableLayers(model).map((l) => {
    const e = enabled.get(l.name);
    if (e) return { name: l.name, opType: l.opType, enabled: true, scale: e.scale, offset: e.offset, approximate: e.approximate };
    const entry = config.layers[l.name];
    const reason = !l.quantizable ? l.reason : !entry ? 'no entry in config.json' : uncalibrated.get(l.name) ?? 'quant_enable is false';
    return { name: l.name, opType: l.opType, enabled: false, reason };
  });
}

export async function quantizeModel(opts: QuantizeOptions): Promise<QuantizeResult> {
  const started = Date.now();
  const { signal, onProgress } = opts;
  if (!/^[^\\/\0]+$/.test(opts.name) || opts.name === '.' || opts.name === '..') {
    throw new QtuneError('bad_name', `output name "${opts.name}" must be a plain file name prefix (no folders)`, { path: 'name' });
  }
  const notes: string[] = [];
  onProgress?.({ stage: 'load', done: 0, total: 1 });
  const original = await loadModelAsync(opts.modelPath, { signal });
  await checkpoint(signal);
  const cm = configModelOf(original);
  const config = resolveQuantConfig(opts.config, cm);
  if (opts.batchNum !== undefined) {
    if (!(Number.isInteger(opts.batchNum) && opts.batchNum >= 1)) throw new QtuneError('config_invalid', `batch_num must be an integer >= 1, found ${opts.batchNum}`, { path: '$.batch_num' });
    config.batch_num = opts.batchNum;
  }
  const upgraded = await upgradedForQdq(original);
  const work = upgraded.model;
  const opsetUpgradedFrom = upgraded.from;
  if (opsetUpgradedFrom !== undefined) notes.push(`the model was upgraded from opset ${opsetUpgradedFrom} to ${QDQ_MIN_OPSET} (needed for per-channel QDQ)`);
  onProgress?.({ stage: 'load', done: 1, total: 1 });
  await checkpoint(signal);

  const fusionSettings = { doFusion: config.do_fusion, skip: config.skip_fusion_layers };
  if (config.do_fusion) onProgress?.({ stage: 'fuse', done: 0, total: 1 });
  const fusion: FusionResult = await fuseAsConfigured(work, fusionSettings, signal);
  if (config.do_fusion) onProgress?.({ stage: 'fuse', done: 1, total: 1 });
  throwIfAborted(signal);

  const dataset = isDataset(opts.dataset) ? opts.dataset : await openDataFor(work, opts.dataset);
  notes.push(...dataset.notes);
  const target = opts.target ?? DEFAULT_EXPORT_TARGET;
  // ort-cpu quantizes a few tensors the simulation keeps float (residual Add inputs, pooled outputs): their
  // range comes from the same samples, measured within the calibration pass where it can
  const rangeTensors = target === 'ort-cpu' ? tensorsNeedingRanges(work, enabledLayers(work, config)) : [];
  const cal = await (opts.calibrator ?? calibrate)(work, dataset, config, {
    batchSize: opts.batchSize, onProgress, signal, memoryBudgetBytes: opts.memoryBudgetBytes, method: opts.calibrationMethod, rangeTensors, foldThreads: opts.foldThreads,
  });
  throwIfAborted(signal);
  // a layer inside a branch that no calibration sample took stays float, and the run says so
  for (const n of cal.noSamples ?? []) notes.push(`${n.name}: ${n.reason}`);
  if (cal.layers.length === 0) {
    const refused = findQuantizableLayers(work).filter((l) => !l.quantizable);
    if (refused.length) notes.push(`no layer was quantized: each candidate is refused (${refused[0].name}: ${refused[0].reason}); \`qtune summary\` lists every reason`);
  }

  const specs = cal.layers.map((l) => ({ name: l.name, activation: { scale: l.ifmr.scale, offset: l.ifmr.offset }, channelWise: l.config.weight.channelWise }));
  // (a calibration that measured them lists every finite one; the held method and cached layers do not)
  const ranges = cal.ranges ?? (rangeTensors.length > 0 && cal.batches > 0
    ? await measureRanges(work, dataset, rangeTensors, {
      batchSize: cal.batchSize, batches: cal.batches, signal, onProgress: (done, total) => onProgress?.({ stage: 'ranges', done, total }),
    })
    : new Map());
  throwIfAborted(signal);
  onProgress?.({ stage: 'export', done: 0, total: 1 });
  const weights: WeightStorage = opts.weights === 'uint8' ? 'uint8' : 'int8';
  const arqResults = new Map<string, ArqResult>();
  let exportUnits = 1;
  // layer by layer, letting a Cancel in between (the weights of a large model take seconds to quantize)
  let exported = await runSteps(exportQdqSteps(work, specs, { target, ranges, weights, arqResults }), signal);
  let uint8Weights: Uint8WeightLayers | undefined;
  if (target === 'ort-cpu' && (opts.weights ?? 'auto') === 'auto' && !(await u8s8IsExact())) {
    // this CPU's int8-weight kernels can saturate: check each layer's kernel against the simulation on a few
    // calibration samples, and store the weights of those that differ as uint8 (exact kernel, same values)
    const feeds = await firstFeeds(dataset, Math.min(SATURATION_SAMPLES, cal.batchSize));
    // one sample per run, each a unit of the export stage's progress (and a point where Cancel is heard)
    const saturating = feeds
      ? await saturatingLayers(exported.model, feeds, specs.map((s) => s.name), SATURATION_TOLERANCE, {
        signal, onProgress: (done, total) => onProgress?.({ stage: 'export', done, total: (exportUnits = total + 1) }),
      })
      : new Set(specs.map((s) => s.name));
    throwIfAborted(signal);
    // the check cuts its units out of the main graph: layers inside If/Loop/Scan bodies take the exact kernel
    const inBodies = cal.layers.filter((l) => l.subgraph).length;
    for (const l of cal.layers) if (l.subgraph) saturating.add(l.name);
    if (saturating.size > 0) {
      exported = await runSteps(exportQdqSteps(work, specs, { target, ranges, weights, uint8WeightLayers: saturating, arqResults }), signal);
      uint8Weights = { layers: saturating.size, of: specs.length, tolerancePercent: SATURATION_TOLERANCE * 100, ...(inBodies ? { inBodies } : {}) };
      notes.push(uint8WeightsNote(uint8Weights));
    }
  }
  onProgress?.({ stage: 'export', done: exportUnits, total: exportUnits });
  for (const l of exported.layers) for (const n of l.notes) notes.push(`${l.name}: ${n}`);
  throwIfAborted(signal);

  const stats: QuantStatsFile = {
    version: 1,
    model: opts.modelPath,
    batchNum: cal.batches,
    batchSize: cal.batchSize,
    samples: cal.samples,
    layers: cal.layers.map((c, i): LayerQuantStats => {
      const x = exported.layers[i];
      return {
        name: c.name, opType: c.opType, inputTensor: c.inputTensor, outputTensor: c.outputTensor,
        count: c.stats.count, min: c.stats.min, max: c.stats.max, histogram: c.stats.histogram,
        maxInit: c.ifmr.maxInit, minInit: c.ifmr.minInit, candidates: c.ifmr.candidates, losses: c.ifmr.losses, bestIndex: c.ifmr.bestIndex,
        clipMin: c.ifmr.clipMin, clipMax: c.ifmr.clipMax, scale: x.scaleD, offset: x.offsetD,
        asymmetric: c.config.activation.asymmetric, approximate: c.ifmr.approximate,
        weightScales: x.scaleW, weightOffsets: x.offsetW, weightAxis: x.weightAxis, channelWise: c.config.weight.channelWise,
      };
    }),
  };
  const record = formatRecord(exported.layers.map((l) => ({ layer: l.name, scaleD: l.scaleD, offsetD: l.offsetD, scaleW: l.scaleW, offsetW: l.offsetW })));

  // All files go to a private folder first and are renamed into place only once every one is written,
  // so a failed or cancelled run never leaves a set of outputs that looks complete.
  onProgress?.({ stage: 'write', done: 0, total: 5 });
  const files = outputFiles(opts.outDir, opts.name);
  try {
    mkdirSync(resolve(opts.outDir), { recursive: true });
  } catch (e) {
    throw new QtuneError('output_unwritable', `cannot create output folder ${opts.outDir}: ${(e as Error).message}`, { file: opts.outDir });
  }
  // a run killed while writing (a Cancel that did not stop in time) left its private folder: clear it now
  for (const e of readdirSync(resolve(opts.outDir))) {
    if (e.startsWith(`.${opts.name}.partial-`)) rmSync(join(resolve(opts.outDir), e), { recursive: true, force: true });
  }
  const staging = mkdtempSync(join(resolve(opts.outDir), `.${opts.name}.partial-`));
  try {
    const staged = outputFiles(staging, opts.name);
    // the quantized model records which float model and fusion it came from (the analyzer checks it)
    // the models are written without holding the thread, so a Cancel stops the writing (the folder goes with it)
    await saveModelAsync(work, staged.fusedFloatModel, { signal });
    onProgress?.({ stage: 'write', done: 1, total: 5 });
    recordProvenance(exported.model, await provenanceOf(opts.modelPath, fusionSettings, fusion, work, staged.fusedFloatModel, signal));
    await saveModelAsync(exported.model, staged.quantModel, { signal });
    onProgress?.({ stage: 'write', done: 2, total: 5 });
    writeFileSync(staged.record, record);
    writeFileSync(staged.config, formatQuantConfig(effectiveConfig(config, cm.layers)));
    writeFileSync(staged.stats, `${JSON.stringify(stats)}\n`);
    throwIfAborted(signal);
    for (const k of Object.keys(files) as (keyof typeof files)[]) {
      renameSync(staged[k], files[k]);
      // a model over 2 GiB was written with its weights beside it (<file>.data, named inside the model)
      if (existsSync(`${staged[k]}.data`)) renameSync(`${staged[k]}.data`, `${files[k]}.data`);
    }
  } catch (e) {
    if (e instanceof QtuneError) throw e;
    throw new QtuneError('output_unwritable', `cannot write the outputs to ${opts.outDir}: ${(e as Error).message}`, { file: opts.outDir });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  onProgress?.({ stage: 'write', done: 5, total: 5 });

  const enabled = new Map(exported.layers.map((l, i) => [l.name, { scale: l.scaleD, offset: l.offsetD, approximate: cal.layers[i].ifmr.approximate }]));
  return {
    files,
    layers: layerSummaries(work, config, enabled, new Map((cal.noSamples ?? []).map((n) => [n.name, n.reason]))),
    fusion: { fused: fusion.fused, skipped: fusion.skipped },
    calibration: {
      batches: cal.batches, batchSize: cal.batchSize, samples: cal.samples, passes: cal.passes,
      approximateLayers: cal.layers.filter((l) => l.ifmr.approximate).map((l) => l.name),
    },
    opsetUpgradedFrom,
    ...(uint8Weights ? { uint8Weights } : {}),
    notes,
    durationMs: Date.now() - started,
  };
}
