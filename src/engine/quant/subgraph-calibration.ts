// Calibration of layers inside If/Loop/Scan bodies. Their inputs are body
// tensors that no session can return directly; expose-subgraph.ts makes each
// one a main-graph output (an If branch's tensor holds only the samples that
// took the branch, a Loop/Scan body's every iteration), so the calibration
// passes see ordinary tensors. A body layer no calibration sample reached
// (a branch never taken) has no values: it is left in float, with that reason.
import { exposeBodyTensors, type OnnxModel } from '../onnx';
import type { EnabledLayer } from './calibrate';

export interface BodyLayersExposed<L extends EnabledLayer> {
  /** the model to run (the input model when no layer sits in a body) */
  model: OnnxModel;
  /** the layers with each body layer's input renamed to its main-graph output */
  layers: L[];
  /** the layers as they were given, by name (to report results under the body's tensor names) */
  original: Map<string, L>;
}

export function exposeBodyLayerInputs<L extends EnabledLayer>(model: OnnxModel, layers: readonly L[]): BodyLayersExposed<L> {
  const inBodies = layers.filter((l) => l.subgraph);
  const original = new Map(layers.map((l) => [l.name, l]));
  if (inBodies.length === 0) return { model, layers: [...layers], original };
  const exposed = exposeBodyTensors(model, inBodies.map((l) => ({ scope: l.subgraph!, tensor: l.inputTensor })));
  return {
    model: exposed.model,
    layers: layers.map((l) => (l.subgraph ? { ...l, inputTensor: exposed.outputs.get(`${l.subgraph}\u0000${l.inputTensor}`)! } : l)),
    original,
  };
}

/** Why a layer was not calibrated: its body saw none of the calibration samples. */
export function noSamplesReason(l: EnabledLayer): string {
  return `no calibration sample reached it (${l.subgraph} was never executed on the calibration data): left in float`;
}
