// Model variants the analyzer runs, all built by graph surgery on copies:
// - the twin model: the float model plus, for each quantized layer, a copy of
//   the layer fed through that layer's own Q/DQ (constants taken from the QDQ
//   model), so one inference yields every float output and every isolated
//   quantized output;
// - "only this layer quantized": the float model with one layer's inputs
//   routed through its Q/DQ;
// - "all but this layer": the QDQ model with one layer fed its float input
//   and float weights again.
import { QtuneError } from '../../shared/errors';
import { nameAllocator, type GraphIndex, type NodeProto, type OnnxModel, type TensorProto } from '../onnx';
import type { QdqLayer } from './qdq-layers';

/** Ops that belong to a layer's quantized inputs and are copied with it. */
const CHAIN_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'Constant']);

function allNames(model: OnnxModel): Set<string> {
  const s = new Set<string>();
  const g = model.graph;
  for (const n of g.nodes) {
    if (n.name) s.add(n.name);
    for (const o of n.output) s.add(o);
    for (const i of n.input) s.add(i);
  }
  for (const t of g.initializers) if (t.name) s.add(t.name);
  for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo]) if (v.name) s.add(v.name);
  return s;
}

/** Copies quantized-input chains from the QDQ model into `target`, renaming what it adds. */
class ChainCopier {
  private readonly used: Set<string>;
  private readonly targetIdx: GraphIndex;
  private readonly added: NodeProto[] = [];

  constructor(private readonly target: OnnxModel, private readonly quantIdx: GraphIndex) {
    this.used = allNames(target);
    this.targetIdx = target.graph.index();
  }

  fresh(base: string): string {
    return nameAllocator(this.used)(`${base}__qtune`);
  }

  private isTargetTensor(t: string): boolean {
    return this.targetIdx.producers.has(t) || this.targetIdx.graphInputs.has(t) || this.targetIdx.initializers.has(t);
  }

  /**
   * The name, in `target`, of QDQ-model tensor `t` as the layer sees it:
   * Q/DQ outputs and QDQ constants are copied (new names); other tensors must
   * already exist in `target` (the float activations).
   */
  resolve(t: string, memo: Map<string, string>, layer: string): string {
    if (t === '') return t;
    const known = memo.get(t);
    if (known !== undefined) return known;
    let out: string;
    const p = this.quantIdx.producers.get(t);
    const init = this.quantIdx.initializers.get(t);
    // a tensor that keeps its float-model name is that float activation, even where the QDQ model computes it
    // with a DequantizeLinear (the export's integer clip of a Relu/Clip output)
    const floatActivation = this.targetIdx.producers.has(t) || this.targetIdx.graphInputs.has(t);
    if (p && CHAIN_OPS.has(p.opType ?? '') && (p.domain ?? '') === '' && !floatActivation) {
      const inputs = p.input.map((i) => this.resolve(i, memo, layer));
      const outputs = p.output.map((o) => (o ? this.fresh(o) : o));
      this.added.push({ ...p, name: this.fresh(p.name || p.opType || 'node'), input: inputs, output: outputs, attribute: [...p.attribute] });
      p.output.forEach((o, k) => memo.set(o, outputs[k]));
      out = memo.get(t)!;
    } else if (init) {
      out = this.fresh(t);
      this.target.graph.addInitializer({ ...init, name: out } as TensorProto);
    } else if (this.isTargetTensor(t)) {
      out = t;
    } else {
      throw new QtuneError('analyze_variant', `layer '${layer}': its input '${t}' is neither a Q/DQ output, a constant of the quantized model, nor a tensor of the float model`, { layer });
    }
    memo.set(t, out);
    return out;
  }

  addNode(n: NodeProto): void {
    this.added.push(n);
  }

  /** Append the copied nodes and restore a topological order. */
  finish(): void {
    for (const n of this.added) this.target.graph.addNode(n);
    this.target.graph.sortTopologically();
  }
}

export interface TwinModel {
  model: OnnxModel;
  /** per layer: the float output tensor and its twin's output, in `layers` order; layers that failed are left out */
  pairs: { layer: QdqLayer; floatOutput: string; twinOutput: string }[];
  failed: { layer: string; message: string }[];
}

/** The float model plus an isolated quantized twin of every layer in `layers`. */
export function buildTwinModel(float: OnnxModel, quant: OnnxModel, layers: readonly QdqLayer[]): TwinModel {
  const model = float.clone();
  const floatIdx = float.graph.index();
  const copier = new ChainCopier(model, quant.graph.index());
  const pairs: TwinModel['pairs'] = [];
  const failed: TwinModel['failed'] = [];
  for (const layer of layers) {
    if (!floatIdx.producers.has(layer.outputTensor)) {
      failed.push({ layer: layer.name, message: `the float model has no tensor '${layer.outputTensor}' (the layer's output)` });
      continue;
    }
    try {
      const memo = new Map<string, string>();
      const inputs = layer.node.input.map((i) => copier.resolve(i, memo, layer.name));
      const outputs = layer.node.output.map((o) => (o ? copier.fresh(o) : o));
      copier.addNode({ ...layer.node, name: copier.fresh(layer.name), input: inputs, output: outputs, attribute: [...layer.node.attribute] });
      pairs.push({ layer, floatOutput: layer.outputTensor, twinOutput: outputs[0] });
    } catch (e) {
      if (!(e instanceof QtuneError)) throw e;
      failed.push({ layer: layer.name, message: e.message });
    }
  }
  copier.finish();
  return { model, pairs, failed };
}

/** The float model with only `layer` quantized (its inputs routed through its own Q/DQ). */
export function buildOnlyLayerQuantized(float: OnnxModel, quant: OnnxModel, layer: QdqLayer): OnnxModel {
  const model = float.clone();
  const node = model.graph.getNode(layer.name);
  if (!node) throw new QtuneError('analyze_variant', `the float model has no node '${layer.name}'`, { layer: layer.name });
  const copier = new ChainCopier(model, quant.graph.index());
  const memo = new Map<string, string>();
  node.input = layer.node.input.map((i) => copier.resolve(i, memo, layer.name));
  copier.finish();
  return model;
}

/** The QDQ model with `layer` back in float: float input, float weights and bias from the float model. */
export function buildAllButLayer(float: OnnxModel, quant: OnnxModel, layer: QdqLayer): OnnxModel {
  const model = quant.clone();
  const node = model.graph.getNode(layer.name);
  const floatNode = float.graph.getNode(layer.name);
  if (!node || !floatNode) throw new QtuneError('analyze_variant', `layer '${layer.name}' is missing from the ${node ? 'float' : 'quantized'} model`, { layer: layer.name });
  const floatIdx = float.graph.index();
  const fresh = nameAllocator(allNames(model));
  node.input[0] = layer.inputTensor;
  for (let k = 1; k < node.input.length; k++) {
    const name = floatNode.input[k];
    if (!name) continue;
    const t = floatIdx.initializers.get(name) ?? floatIdx.constants.get(name);
    if (!t) throw new QtuneError('analyze_variant', `layer '${layer.name}': float input ${k} ('${name}') is not a constant`, { layer: layer.name });
    const copy = fresh(`${name}__qtune_float`);
    model.graph.addInitializer({ ...t, name: copy });
    node.input[k] = copy;
  }
  return model;
}
