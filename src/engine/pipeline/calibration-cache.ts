// Calibration results kept across the trials of one tuning session. A layer's
// IFMR result depends only on the data of its input tensor (calibration runs
// on the float, fused model, whatever else the config quantizes) and on its
// own activation parameters, so a trial that only changes which layers are
// skipped, or their ARQ parameters, needs no new calibration: only the layers
// whose (input tensor, activation parameters) pair is new are calibrated, by
// handing calibrate() a config that enables just those.

import type { QuantConfig } from '../../shared/config-types';
import type { Dataset } from '../data/dataset';
import { findQuantizableLayers, type OnnxModel } from '../onnx';
import type { TensorRange } from '../quant/qdq-plan';
import { calibrate, enabledLayers, type CalibrateOptions, type CalibrationResult, type EnabledLayer, type LayerCalibration } from '../quant/calibrate';

type Calibrated = Pick<LayerCalibration, 'ifmr' | 'stats'>;

export class CalibrationCache {
  private readonly store = new WeakMap<Dataset, Map<string, Calibrated>>();
  /** the export's tensor ranges measured along (same samples), per dataset, keyed like the layers */
  private readonly rangeStore = new WeakMap<Dataset, Map<string, TensorRange | null>>();
  /** layers served from the cache / calibrated, over the cache's life */
  hits = 0;
  misses = 0;

  /** Same contract as calibrate(); pass it as quantizeModel's `calibrator`. */
  readonly calibrate = async (model: OnnxModel, dataset: Dataset, config: QuantConfig, opts: CalibrateOptions): Promise<CalibrationResult> => {
    const layers = enabledLayers(model, config);
    const batchSize = dataset.effectiveBatchSize(opts.batchSize);
    let known = this.store.get(dataset);
    if (!known) this.store.set(dataset, (known = new Map()));
    // the fused model differs with the fusion settings, the data with the batches taken
    const scope = JSON.stringify([config.do_fusion, [...config.skip_fusion_layers].sort(), config.batch_num, batchSize]);
    const keyOf = (l: EnabledLayer) => `${scope}\0${l.subgraph ?? ""}\0${l.inputTensor}\0${JSON.stringify(l.config.activation)}`;
    const missing = new Map<string, EnabledLayer>();
    for (const l of layers) if (!known.has(keyOf(l)) && !missing.has(keyOf(l))) missing.set(keyOf(l), l);
    let knownRanges = this.rangeStore.get(dataset);
    if (!knownRanges) this.rangeStore.set(dataset, (knownRanges = new Map()));
    const rangeKey = (t: string) => `${scope}\0${t}`;
    let passes = 0;
    if (missing.size > 0 || layers.length === 0) {
      const subset: QuantConfig = { ...config, layers: Object.fromEntries([...missing.values()].map((l) => [l.name, config.layers[l.name]])) };
      // calibrate() asks the runtime for the exposed tensors, and a run that fetches nothing is
      // refused: when every layer to calibrate reads a graph input, one other layer goes along
      const graphInputs = new Set(model.graph.feedInputs.map((v) => v.name ?? ''));
      if (missing.size > 0 && [...missing.values()].every((l) => graphInputs.has(l.inputTensor))) {
        const companion = findQuantizableLayers(model).find((l) => l.quantizable && !l.subgraph && !graphInputs.has(l.inputTensor));
        if (companion) subset.layers[companion.name] = config.layers[companion.name]?.quant_enable === false || !config.layers[companion.name] ? {} : config.layers[companion.name];
      }
      const r = await calibrate(model, dataset, subset, opts);
      for (const c of r.layers) if (!known.has(keyOf(c))) known.set(keyOf(c), { ifmr: c.ifmr, stats: c.stats });
      // a tensor left out of measured ranges had a non-finite value: remembered as null (it stays float)
      if (r.ranges) for (const t of opts.rangeTensors ?? []) knownRanges.set(rangeKey(t), r.ranges.get(t) ?? null);
      passes = r.passes;
    }
    const wanted = opts.rangeTensors ?? [];
    const ranges = wanted.every((t) => knownRanges.has(rangeKey(t)))
      ? new Map(wanted.flatMap((t) => { const v = knownRanges.get(rangeKey(t)); return v ? [[t, v] as const] : []; }))
      : undefined;
    this.misses += missing.size;
    this.hits += layers.length - missing.size;
    return {
      layers: layers.map((l) => ({ ...l, ...known.get(keyOf(l))! })),
      batches: config.batch_num,
      batchSize,
      samples: config.batch_num * batchSize,
      passes,
      ranges,
    };
  };
}
