// The float model a quantization run works on: the user's model with its
// opset raised to what QDQ export needs, then BatchNorm fused into the Conv
// before it as the config says. Calibration runs on it, export quantizes it,
// and the analyzer compares against it (rebuilding it when its file is gone).
import { materializeWeightExpressions, needsTensorRanks, tensorRanks, upgradeOpset, type OnnxModel } from '../onnx';
import { runSteps } from '../cancel';
import { foldBatchNormSteps, type FusionResult } from './fusion';
import { QDQ_MIN_OPSET } from './qdq-export';

export interface FusionSettings {
  doFusion: boolean;
  /** Conv layers not to fuse (skip_fusion_layers) */
  skip?: string[];
}

export interface PreparedFloat {
  model: OnnxModel;
  fusion: FusionResult;
  /** the opset the model had when it had to be upgraded */
  opsetUpgradedFrom?: number;
}

/**
 * A copy of the model with its opset raised to QDQ's when older (needed for per-channel QDQ), and
 * weights, biases and BN parameters computed from constants (Transpose, Slice, Identity … of
 * initializers) stored as initializers, so fusion, calibration and export all read plain weights.
 */
export async function upgradedForQdq(original: OnnxModel): Promise<{ model: OnnxModel; from?: number }> {
  const model = original.clone();
  materializeWeightExpressions(model);
  if ((model.opsetVersion('') ?? 1) >= QDQ_MIN_OPSET) return { model };
  const up = upgradeOpset(model, QDQ_MIN_OPSET, { ranks: needsTensorRanks(model) ? await tensorRanks(model) : undefined });
  return { model, from: up.from };
}

/** Fuses BatchNorm in place when the settings ask for it; a Cancel is heard between fused pairs. */
export async function fuseAsConfigured(model: OnnxModel, settings: FusionSettings, signal?: AbortSignal): Promise<FusionResult> {
  if (!settings.doFusion) return { fused: [], folded: [], skipped: [] };
  return runSteps(foldBatchNormSteps(model, { skip: settings.skip }), signal);
}

/** Both steps, for a caller that rebuilds the run's float model (the analyzer). */
export async function prepareFloatModel(original: OnnxModel, settings: FusionSettings, signal?: AbortSignal): Promise<PreparedFloat> {
  const { model, from } = await upgradedForQdq(original);
  return { model, fusion: await fuseAsConfigured(model, settings, signal), opsetUpgradedFrom: from };
}
