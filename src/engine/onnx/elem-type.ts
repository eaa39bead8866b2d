// Element type of a tensor without running the model: declared value info,
// initializers and Constants, or followed through the ops that produce it.
// Used to tell float activations from the int64 shape arithmetic exporters
// interleave with them (Shape → Gather → Unsqueeze → Concat → Reshape).
import { attrInt } from './attrs';
import type { GraphIndex } from './model';
import { DT } from './proto';

/** ops whose output is int64 whatever their input */
const INT64_OUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression', 'TopK']);
/** ops whose output 0 has the element type of input 0 */
const SAME_AS_INPUT0 = new Set([
  'Identity', 'Gather', 'GatherElements', 'Unsqueeze', 'Squeeze', 'Concat', 'Slice', 'Reshape', 'Flatten', 'Transpose',
  'Expand', 'Tile', 'Add', 'Sub', 'Mul', 'Div', 'Neg', 'Abs', 'Min', 'Max', 'Split', 'Relu', 'Clip', 'Pad', 'ReduceSum',
  'ReduceMax', 'ReduceMin', 'Where',
  // float layers and activations: their output has their input's type (a float16 model stays float16 throughout)
  'Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'AveragePool', 'MaxPool', 'GlobalAveragePool', 'GlobalMaxPool',
  'BatchNormalization', 'LayerNormalization', 'Sigmoid', 'Tanh', 'Softmax', 'LeakyRelu', 'HardSigmoid', 'HardSwish',
  'Erf', 'Sqrt', 'Pow', 'ReduceMean', 'Resize', 'Upsample',
]);

/** The ONNX element type of `name`, or undefined when it cannot be told statically. */
export function elemTypeOf(idx: GraphIndex, name: string, depth = 0): number | undefined {
  if (!name || depth > 64) return undefined;
  const t = idx.initializers.get(name) ?? idx.constants.get(name);
  if (t) return t.dataType;
  const declared = idx.valueInfo.get(name)?.type?.tensorType?.elemType;
  if (declared) return declared;
  const p = idx.producers.get(name);
  if (!p || (p.domain ?? '') !== '') return undefined;
  const op = p.opType ?? '';
  if (INT64_OUT.has(op)) return op === 'TopK' && p.output[0] === name ? elemTypeOf(idx, p.input[0], depth + 1) : DT.INT64;
  if (op === 'Cast') return attrInt(p, 'to');
  if (op === 'Where') return elemTypeOf(idx, p.input[1], depth + 1);
  if (['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf'].includes(op)) return DT.BOOL;
  if (SAME_AS_INPUT0.has(op)) return elemTypeOf(idx, p.input[0], depth + 1);
  return undefined;
}

/** True when `name` is known to hold integers or booleans (shape arithmetic, indices, masks). */
export function isNonFloatTensor(idx: GraphIndex, name: string): boolean {
  const t = elemTypeOf(idx, name);
  return t !== undefined && t !== DT.FLOAT && t !== DT.FLOAT16 && t !== DT.DOUBLE && t !== DT.BFLOAT16;
}
