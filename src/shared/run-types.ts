// What one quantize-and-evaluate run produces, as the wizard shows it.

import type { LatencyComparison, LayerTimes, RuntimeParity } from './deploy-types';
import type { EvalResult, Flip, TargetJudgement } from './eval-types';
import type { Uint8WeightLayers } from './quant-types';

/** File names inside the run's folder (runs/NNN/), so a project can be moved or copied whole. */
export interface RunArtifacts {
  quantModel: string;
  fusedFloatModel: string;
  record: string;
  config: string;
  stats: string;
}

export interface RunLayer {
  name: string;
  opType: string;
  enabled: boolean;
}

export interface RunResult {
  runId: number;
  configId: number;
  float: EvalResult;
  quant: EvalResult;
  judgement: TargetJudgement;
  /** samples whose prediction changed between the float and the int8 model, worst first (at most 200 kept) */
  flips: Flip[];
  /** how many changed in all: 'broke' (float right, int8 wrong), 'fixed' (the reverse) */
  flipCounts: { total: number; broke: number; fixed: number };
  layers: RunLayer[];
  artifacts: RunArtifacts;
  durationMs: number;
  notes: string[];
  /** layers stored with uint8 weights (also one of the notes, in English) */
  uint8Weights?: Uint8WeightLayers;
  /** the int8 model as a simulation vs as the runtime runs it (absent in runs saved before this check existed) */
  parity?: RuntimeParity;
  /** int8 vs float latency on the machine that ran it */
  latency?: LatencyComparison;
  /** each layer's time in both models: what keeping a layer in float costs */
  layerTimes?: LayerTimes;
}

/** A thumbnail of one data sample, for previews and the flipped-samples list. */
export interface SamplePreview {
  index: number;
  label?: number;
  /** PNG as a data: URL */
  image: string;
  width: number;
  height: number;
  /** the sample's shape after preprocessing */
  shape: number[];
  min: number;
  max: number;
}
