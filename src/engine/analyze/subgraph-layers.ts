// The analyzer inside If/Loop/Scan bodies. Quantized layers in a body are read
// from the body (named `<node>/<attribute>/<layer>`, their tensors
// `<node>/<attribute>/<tensor>`), and for the tensor comparison every body
// tensor both models compute is made a main-graph output under that scoped
// name (expose-subgraph.ts): an If branch's tensor holds the samples that took
// the branch (empty for the others), a Loop body's every iteration.
import { allTensorNames, bodyScopes, bodyTensorKey, DT, exposeBodyTensors, scopeModel, type BodyTensor, type OnnxModel } from '../onnx';
import { readQdqLayers, type QdqLayer, type QdqModelInfo } from './qdq-layers';

/** `<scope>/<tensor>`: how a body tensor is named in the analyzer's report. */
export const scopedTensorName = (scope: string, tensor: string): string => (scope ? `${scope}/${tensor}` : tensor);

/** The quantized layers of the main graph (readQdqLayers) and of every body, with scoped names. */
export function readQdqLayersWithBodies(quant: OnnxModel): QdqModelInfo & { inBodies: Set<string> } {
  const info = readQdqLayers(quant);
  const inBodies = new Set<string>();
  for (const scope of bodyScopes(quant)) {
    const body = readQdqLayers(scopeModel(quant, scope));
    info.qdqNodeCount += body.qdqNodeCount;
    for (const w of body.warnings) info.warnings.push({ ...w, layer: scopedTensorName(scope.path, w.layer) });
    for (const l of body.layers) {
      const layer: QdqLayer = {
        ...l, name: scopedTensorName(scope.path, l.name),
        inputTensor: scopedTensorName(scope.path, l.inputTensor), outputTensor: scopedTensorName(scope.path, l.outputTensor),
      };
      info.layers.push(layer);
      inBodies.add(layer.name);
    }
  }
  return { ...info, inBodies };
}

/** Body tensors of a model: each body's float inputs (a Loop's carried state) and each body node's outputs. */
function bodyTensors(model: OnnxModel): BodyTensor[] {
  const out: BodyTensor[] = [];
  for (const scope of bodyScopes(model)) {
    for (const v of scope.graph.inputs) if (v.name && v.type?.tensorType?.elemType === DT.FLOAT) out.push({ scope: scope.path, tensor: v.name });
    for (const n of scope.graph.nodes) for (const o of n.output) if (o) out.push({ scope: scope.path, tensor: o });
  }
  return out;
}

/**
 * Copies of both models with every body tensor they share (same body, same name) exposed as a main-graph
 * output named by scopedTensorName. Models without bodies come back as they are.
 */
export function exposeSharedBodyTensors(float: OnnxModel, quant: OnnxModel): { float: OnnxModel; quant: OnnxModel } {
  const inQuant = new Set(bodyTensors(quant).map(bodyTensorKey));
  const shared = bodyTensors(float).filter((t) => inQuant.has(bodyTensorKey(t)));
  if (shared.length === 0) return { float, quant };
  const expose = (m: OnnxModel): OnnxModel => {
    const { model, outputs } = exposeBodyTensors(m, shared);
    const taken = allTensorNames(model);
    for (const t of shared) {
      const name = scopedTensorName(t.scope, t.tensor);
      const from = outputs.get(bodyTensorKey(t))!;
      if (taken.has(name)) continue;
      taken.add(name);
      // the exposed output (an output of the If/Loop/Scan node) renamed to the scoped name the report shows
      for (const n of model.graph.nodes) n.output = n.output.map((o) => (o === from ? name : o));
      for (const v of model.graph.outputs) if (v.name === from) v.name = name;
    }
    return model;
  };
  return { float: expose(float), quant: expose(quant) };
}
