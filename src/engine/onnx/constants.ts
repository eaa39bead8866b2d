// Constant-node weights as initializers. Exporters such as paddle2onnx emit
// every weight as a Constant node; fusion and QDQ export want initializers.
import { attrFloat, attrFloats, attrInt, attrInts, getAttr } from './attrs';
import type { OnnxModel } from './model';
import { DT, type NodeProto, type TensorProto } from './proto';
import { makeTensor, tensorDims } from './tensor';
import { makeValueInfo } from './value-info';

/** The tensor a Constant node produces, or undefined when it is a kind we do not fold (sparse, strings). */
export function constantNodeValue(node: NodeProto): TensorProto | undefined {
  const v = getAttr(node, 'value');
  if (v?.t) return v.t;
  const f = attrFloat(node, 'value_float');
  if (f !== undefined) return makeTensor('', [], Float32Array.of(f));
  const fs = attrFloats(node, 'value_floats');
  if (fs) return makeTensor('', [fs.length], Float32Array.from(fs));
  const i = attrInt(node, 'value_int');
  if (i !== undefined) return makeTensor('', [], BigInt64Array.of(BigInt(i)));
  const is = getAttr(node, 'value_ints');
  if (is) return makeTensor('', [is.ints.length], BigInt64Array.from(attrInts(node, 'value_ints')!, (x) => BigInt(x)));
  return undefined;
}

/**
 * Replace every top-level Constant node by an initializer named after its
 * output (payload shared, not copied). Constants that are graph outputs stay.
 * Returns the number of nodes converted.
 */
export function constantsToInitializers(model: OnnxModel): number {
  const g = model.graph;
  const outputs = new Set(g.outputs.map((o) => o.name));
  const keep: NodeProto[] = [];
  let converted = 0;
  for (const n of g.nodes) {
    const out = n.output[0];
    const value = n.opType === 'Constant' && (n.domain ?? '') === '' && out && !outputs.has(out) ? constantNodeValue(n) : undefined;
    if (!value || value.dataType === DT.STRING) {
      keep.push(n);
      continue;
    }
    g.addInitializer({ ...value, name: out });
    // before IR 4 every initializer also had to be declared as a graph input
    if (model.irVersion < 4) g.inputs.push(makeValueInfo(out, value.dataType, tensorDims(value)));
    converted++;
  }
  g.nodes.splice(0, g.nodes.length, ...keep);
  return converted;
}
