// Element type and shape of every tensor. value_info answers when the model
// declares it; otherwise we run the model once in ORT with every tensor
// exposed, feeding zeros of the given input shapes.
import * as ort from 'onnxruntime-node';
import { QtuneError } from '../../shared/errors';
import type { OnnxModel } from './model';
import { runExposed } from './ort';
import { numElements } from './tensor';
import { shapeOf, typeName, type Shape } from './value-info';

export interface TensorType {
  /** "float32", "int64", ... */
  type: string;
  shape: Shape | null;
}

/** What the model itself declares (graph inputs/outputs, value_info, initializers). */
export function declaredTensorTypes(model: OnnxModel): Map<string, TensorType> {
  const out = new Map<string, TensorType>();
  const idx = model.graph.index();
  for (const [name, v] of idx.valueInfo) out.set(name, { type: typeName(v.type), shape: shapeOf(v.type) });
  return out;
}

export interface InputShapeOptions {
  /** concrete shape per graph input; unspecified dynamic dims get `dynamicDimSize` */
  inputShapes?: Record<string, number[]>;
  /** size used for any dynamic dimension (default 1) */
  dynamicDimSize?: number;
}

/** Concrete shapes for the graph inputs (declared dims, user sizes for dynamic ones). */
export function concreteInputShapes(model: OnnxModel, opts: InputShapeOptions = {}): Record<string, { type: string; dims: number[] }> {
  const out: Record<string, { type: string; dims: number[] }> = {};
  for (const v of model.graph.feedInputs) {
    const name = v.name ?? '';
    const given = opts.inputShapes?.[name];
    const declared = shapeOf(v.type);
    let dims: number[];
    if (given) dims = given;
    else if (declared) dims = declared.map((d) => (typeof d === 'number' && d > 0 ? d : opts.dynamicDimSize ?? 1));
    else throw new QtuneError('onnx_shape', `${model.path ?? 'model'}: input '${name}' has no declared shape; give it in inputShapes`, { file: model.path, path: name });
    out[name] = { type: typeName(v.type), dims };
  }
  return out;
}

/** Zero-filled typed arrays per ORT element type (bool is stored as bytes). */
const ZERO_ARRAYS: Record<string, (n: number) => ort.Tensor.DataType> = {
  float32: (n) => new Float32Array(n), float64: (n) => new Float64Array(n), int8: (n) => new Int8Array(n),
  uint8: (n) => new Uint8Array(n), int16: (n) => new Int16Array(n), uint16: (n) => new Uint16Array(n),
  int32: (n) => new Int32Array(n), uint32: (n) => new Uint32Array(n), int64: (n) => new BigInt64Array(n),
  uint64: (n) => new BigUint64Array(n), bool: (n) => new Uint8Array(n), float16: (n) => new Uint16Array(n),
};

/** Zero-filled feeds for the model's inputs at the given shapes. */
export function zeroFeeds(model: OnnxModel, opts: InputShapeOptions = {}): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, { type, dims }] of Object.entries(concreteInputShapes(model, opts))) {
    const make = ZERO_ARRAYS[type];
    if (!make) throw new QtuneError('onnx_shape', `${model.path ?? 'model'}: input '${name}' of type ${type} cannot be fed`, { file: model.path, path: name });
    feeds[name] = new ort.Tensor(type as ort.Tensor.Type, make(numElements(dims)) as any, dims);
  }
  return feeds;
}

/**
 * Type and concrete shape of every tensor in the top-level graph, for the
 * given input shapes: declared types first, then one ORT run for the actual
 * shapes of every node output (ORT's answer wins for shapes, being concrete).
 */
export async function inferTensorTypes(model: OnnxModel, opts: InputShapeOptions = {}): Promise<Map<string, TensorType>> {
  const out = declaredTensorTypes(model);
  const feeds = zeroFeeds(model, opts);
  for (const [name, t] of Object.entries(feeds)) out.set(name, { type: t.type, shape: [...t.dims] });
  const results = await runExposed(model, feeds, 'all');
  for (const [name, t] of Object.entries(results)) out.set(name, { type: t.type, shape: [...t.dims] });
  return out;
}
