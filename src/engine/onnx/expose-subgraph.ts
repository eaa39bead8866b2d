// Tensors inside control-flow bodies made outputs of the main graph, so that
// everything built for ordinary tensors (in-graph reductions, calibration,
// tensor comparisons) reads them unchanged.
//
// - If: the tensor becomes one more output of the branch that computes it; the
//   other branch outputs an empty float tensor in its place, so samples that did
//   not take the branch contribute no values at all.
// - Loop / Scan: the tensor becomes one more scan output of the body: the outer
//   output holds every iteration's value, stacked on a new first axis.
// A body nested in another body is exposed one level at a time up to the main
// graph. Each exposed tensor is copied through an Identity inside its body, so
// a body input or an outer-scope read is exposed as the body saw it.
import { QtuneError } from '../../shared/errors';
import { attrInts, makeNode } from './attrs';
import type { OnnxModel } from './model';
import { freshName } from './names';
import { DT } from './proto';
import { allTensorNames, graphScopes, scopeIndex, type Scope } from './subgraphs';
import { makeTensor } from './tensor';
import { makeValueInfo } from './value-info';

export interface BodyTensor {
  /** the scope's path (Scope.path); '' for the main graph */
  scope: string;
  /** the tensor's name as the body knows it */
  tensor: string;
}

export interface ExposedBodyTensors {
  /** a copy of the model with one more main-graph output per body tensor */
  model: OnnxModel;
  /** `${scope}\0${tensor}` → the main-graph output holding its values (see bodyTensorKey) */
  outputs: Map<string, string>;
}

export const bodyTensorKey = (t: BodyTensor): string => `${t.scope}\u0000${t.tensor}`;

/** Element type of `tensor` as the scope declares it (float32 when it says nothing). */
function elemTypeIn(scope: Scope, tensor: string): number {
  return scopeIndex(scope).valueInfo.get(tensor)?.type?.tensorType?.elemType ?? DT.FLOAT;
}

/**
 * Expose `tensors` (each in the body its scope names; main-graph ones are left as they are) as main-graph
 * outputs of a copy of `model`. A tensor may be asked for more than once; it is exposed once.
 */
export function exposeBodyTensors(model: OnnxModel, tensors: readonly BodyTensor[]): ExposedBodyTensors {
  const copy = model.clone();
  const scopes = new Map(graphScopes(copy).map((s) => [s.path, s]));
  const used = allTensorNames(copy);
  const fresh = (base: string) => {
    const name = freshName(`__qtune_x_${base}`, (x) => used.has(x));
    used.add(name);
    return name;
  };
  const outputs = new Map<string, string>();

  /** Make `tensor` of `scope` an output of the scope's owner node; returns that output's name (in the owner's scope). */
  const liftOnce = (scope: Scope, tensor: string): string => {
    const owner = scope.owner!;
    const op = owner.opType ?? '';
    const elemType = elemTypeIn(scope, tensor);
    const inner = fresh(tensor);
    scope.graph.nodes.push(makeNode('Identity', [tensor], [inner], { name: inner }));
    scope.graph.outputs.push(makeValueInfo(inner, elemType));
    const outer = fresh(tensor);
    if (op === 'If') {
      // the other branch yields an empty tensor of the same element type
      const otherAttr = scope.attr === 'then_branch' ? 'else_branch' : 'then_branch';
      const other = owner.attribute.find((a) => a.name === otherAttr)?.g;
      if (!other) throw new QtuneError('onnx_graph', `If node '${owner.name}' has no ${otherAttr}`, { layer: owner.name });
      const empty = fresh(`${tensor}_empty`);
      if (elemType !== DT.FLOAT) throw new QtuneError('onnx_expose', `tensor '${tensor}' in '${scope.path}' is not float32; only float tensors inside If branches can be exposed`, { path: tensor });
      other.node.push(makeNode('Constant', [], [empty], { name: empty, attrs: { value: makeTensor(empty, [0, 1], new Float32Array(0)) } }));
      other.output.push(makeValueInfo(empty, elemType));
    } else if (op === 'Scan') {
      // a new scan output: stacked along axis 0, forward, as the attributes' defaults say
      for (const name of ['scan_output_axes', 'scan_output_directions']) {
        const a = owner.attribute.find((x) => x.name === name);
        if (a) a.ints = [...(attrInts(owner, name) ?? []), 0];
      }
    } else if (op !== 'Loop') {
      throw new QtuneError('onnx_expose', `cannot expose tensors inside a ${op} node ('${owner.name}')`, { layer: owner.name });
    }
    owner.output.push(outer);
    return outer;
  };

  for (const t of tensors) {
    const key = bodyTensorKey(t);
    if (outputs.has(key)) continue;
    let scope = scopes.get(t.scope);
    if (!scope) throw new QtuneError('onnx_expose', `${model.path ?? 'model'}: no subgraph '${t.scope}'`, { path: t.scope });
    let name = t.tensor;
    while (scope.owner) {
      name = liftOnce(scope, name);
      scope = scope.ownerScope!;
    }
    if (!copy.graph.outputs.some((o) => o.name === name)) {
      const vi = makeValueInfo(name);
      delete vi.type; // onnxruntime infers it
      copy.graph.outputs.push(vi);
    }
    outputs.set(key, name);
  }
  return { model: copy, outputs };
}

