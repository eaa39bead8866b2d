// Element types and shapes as declared in a model (graph inputs/outputs and
// value_info). Dynamic dims keep their symbolic name, or "?" when unnamed.
import type { SummaryTensor } from '../../shared/model-summary';
import { DT, toNum, type TypeProto, type ValueInfoProto } from './proto';
import { elemTypeName } from './tensor';

export type Shape = (number | string)[];

/** A model input as the dataset module wants it (see inputSpecs). */
export interface ModelInputSpec {
  name: string;
  /** a dynamic dimension is a string (its symbolic name, or "?") or -1 */
  dims: readonly (number | string)[];
  /** ONNX Runtime element type, e.g. "float32" */
  type: string;
}

export function typeName(t: TypeProto | undefined): string {
  if (!t) return 'unknown';
  if (t.tensorType) return elemTypeName(t.tensorType.elemType);
  if (t.sequenceType) return 'sequence';
  if (t.mapType) return 'map';
  if (t.optionalType) return 'optional';
  if (t.sparseTensorType) return 'sparse_tensor';
  return 'unknown';
}

/** The shape in a TypeProto; null when the rank is unknown. */
export function shapeOf(t: TypeProto | undefined): Shape | null {
  const shape = t?.tensorType?.shape;
  if (!shape) return null;
  return shape.dim.map((d) => (d.dimValue !== undefined ? toNum(d.dimValue) : d.dimParam ? d.dimParam : '?'));
}

export function describeValue(v: ValueInfoProto): SummaryTensor {
  return { name: v.name ?? '', type: typeName(v.type), shape: shapeOf(v.type) };
}

/** A tensor ValueInfoProto; string dims become dim_param, numbers dim_value. */
export function makeValueInfo(name: string, elemType: number = DT.FLOAT, shape?: Shape | null): ValueInfoProto {
  const tensorType: NonNullable<TypeProto['tensorType']> = { elemType };
  if (shape) tensorType.shape = { dim: shape.map((d) => (typeof d === 'number' && d >= 0 ? { dimValue: d } : { dimParam: String(d) })) };
  return { name, type: { tensorType } };
}
