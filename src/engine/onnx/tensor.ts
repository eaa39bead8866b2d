// Tensor data in and out of TensorProto. raw_data is read in place (a typed
// view into the file buffer) whenever its alignment allows, so large weights
// are never copied element by element.
import { QtuneError } from '../../shared/errors';
import { DT, toBigInt, toNum, int64FromBigInt, type Int64, type TensorProto } from './proto';

export type TensorData =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

const ELEM_NAMES: Record<number, string> = {
  [DT.UNDEFINED]: 'undefined', [DT.FLOAT]: 'float32', [DT.UINT8]: 'uint8', [DT.INT8]: 'int8', [DT.UINT16]: 'uint16',
  [DT.INT16]: 'int16', [DT.INT32]: 'int32', [DT.INT64]: 'int64', [DT.STRING]: 'string', [DT.BOOL]: 'bool',
  [DT.FLOAT16]: 'float16', [DT.DOUBLE]: 'float64', [DT.UINT32]: 'uint32', [DT.UINT64]: 'uint64',
  [DT.COMPLEX64]: 'complex64', [DT.COMPLEX128]: 'complex128', [DT.BFLOAT16]: 'bfloat16',
  [DT.FLOAT8E4M3FN]: 'float8e4m3fn', [DT.FLOAT8E4M3FNUZ]: 'float8e4m3fnuz', [DT.FLOAT8E5M2]: 'float8e5m2',
  [DT.FLOAT8E5M2FNUZ]: 'float8e5m2fnuz', [DT.UINT4]: 'uint4', [DT.INT4]: 'int4', [DT.FLOAT4E2M1]: 'float4e2m1',
  [DT.FLOAT8E8M0]: 'float8e8m0',
};

/** ONNX elem type as the short name ORT and our UI use ("float32", "int64", ...). */
export function elemTypeName(dataType: number | undefined): string {
  return ELEM_NAMES[dataType ?? 0] ?? `type${dataType}`;
}

const BYTES_PER_ELEM: Record<number, number> = {
  [DT.FLOAT]: 4, [DT.UINT8]: 1, [DT.INT8]: 1, [DT.UINT16]: 2, [DT.INT16]: 2, [DT.INT32]: 4, [DT.INT64]: 8,
  [DT.BOOL]: 1, [DT.FLOAT16]: 2, [DT.DOUBLE]: 8, [DT.UINT32]: 4, [DT.UINT64]: 8, [DT.COMPLEX64]: 8,
  [DT.COMPLEX128]: 16, [DT.BFLOAT16]: 2,
};

export function bytesPerElement(dataType: number | undefined): number | undefined {
  return BYTES_PER_ELEM[dataType ?? 0];
}

export function tensorDims(t: TensorProto): number[] {
  return t.dims.map((d) => toNum(d));
}

export function numElements(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function tensorNumElements(t: TensorProto): number {
  return numElements(tensorDims(t));
}

function fail(t: TensorProto, problem: string): never {
  throw new QtuneError('onnx_tensor', `Tensor '${t.name ?? ''}': ${problem}`, { path: t.name });
}

/** View bytes as a typed array; copies only when the offset is misaligned. */
function viewAs<T extends TensorData>(
  raw: Uint8Array,
  ctor: { new (buf: ArrayBufferLike, off: number, len: number): T; new (len: number): T; BYTES_PER_ELEMENT: number },
): T {
  const size = ctor.BYTES_PER_ELEMENT;
  if (raw.byteLength % size !== 0) throw new QtuneError('onnx_tensor', `raw_data length ${raw.byteLength} is not a multiple of ${size}`);
  if (raw.byteOffset % size === 0) return new ctor(raw.buffer, raw.byteOffset, raw.byteLength / size);
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  return new ctor(copy.buffer, 0, raw.byteLength / size);
}

/** IEEE half → float, bit-exact for every value including subnormals, inf, NaN. */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    if (exp === 0) {
      if (mant === 0) { u[i] = sign; continue; }
      // subnormal half: normalise into a float32 normal
      let e = -1;
      do { mant <<= 1; e++; } while ((mant & 0x400) === 0);
      u[i] = sign | ((127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
    } else if (exp === 31) {
      u[i] = sign | 0x7f800000 | (mant << 13);
    } else {
      u[i] = sign | ((exp + 112) << 23) | (mant << 13);
    }
  }
  return out;
}

export interface TensorToArrayOptions {
  /** float16 (and bfloat16) come back as Float32Array instead of their raw Uint16 bits */
  float16AsFloat32?: boolean;
}

/**
 * A tensor's elements as a typed array. raw_data is viewed in place (do not
 * mutate the result unless you own the model). float → Float32Array,
 * double → Float64Array, int8/uint8/bool → Int8Array/Uint8Array, int32 →
 * Int32Array, int64 → BigInt64Array, float16 → Uint16Array bits (or
 * Float32Array with `float16AsFloat32`). External data must be resolved first
 * (loadModel does that).
 */
export function tensorToTypedArray(t: TensorProto, opts: TensorToArrayOptions = {}): TensorData {
  if (t.dataLocation === 1) fail(t, 'data is still external (load the model with loadModel to resolve it)');
  const dt = t.dataType ?? 0;
  const count = tensorNumElements(t);
  const raw = t.rawData && t.rawData.byteLength > 0 ? t.rawData : undefined;
  let out: TensorData;
  switch (dt) {
    case DT.FLOAT:
      out = raw ? viewAs(raw, Float32Array) : Float32Array.from(t.floatData);
      break;
    case DT.DOUBLE:
      out = raw ? viewAs(raw, Float64Array) : Float64Array.from(t.doubleData);
      break;
    case DT.INT8:
      out = raw ? viewAs(raw, Int8Array) : Int8Array.from(t.int32Data);
      break;
    case DT.UINT8:
    case DT.BOOL:
      out = raw ? viewAs(raw, Uint8Array) : Uint8Array.from(t.int32Data);
      break;
    case DT.INT16:
      out = raw ? viewAs(raw, Int16Array) : Int16Array.from(t.int32Data);
      break;
    case DT.UINT16:
      out = raw ? viewAs(raw, Uint16Array) : Uint16Array.from(t.int32Data);
      break;
    case DT.INT32:
      out = raw ? viewAs(raw, Int32Array) : Int32Array.from(t.int32Data);
      break;
    case DT.UINT32:
      out = raw ? viewAs(raw, Uint32Array) : Uint32Array.from(t.uint64Data.map((v) => toNum(v)));
      break;
    case DT.INT64:
      out = raw ? viewAs(raw, BigInt64Array) : BigInt64Array.from(t.int64Data.map(toBigInt));
      break;
    case DT.UINT64:
      out = raw ? viewAs(raw, BigUint64Array) : BigUint64Array.from(t.uint64Data.map((v) => BigInt.asUintN(64, toBigInt(v))));
      break;
    case DT.FLOAT16:
    case DT.BFLOAT16: {
      const bits = raw ? viewAs(raw, Uint16Array) : Uint16Array.from(t.int32Data);
      if (!opts.float16AsFloat32) { out = bits; break; }
      if (dt === DT.FLOAT16) { out = float16ToFloat32(bits); break; }
      const f = new Float32Array(bits.length);
      const u = new Uint32Array(f.buffer);
      for (let i = 0; i < bits.length; i++) u[i] = bits[i] << 16;
      out = f;
      break;
    }
    default:
      fail(t, `element type ${elemTypeName(dt)} is not supported here`);
  }
  if (out.length !== count) fail(t, `holds ${out.length} values but its dims ${JSON.stringify(tensorDims(t))} need ${count}`);
  return out;
}

/** Elements of a float-typed tensor (float32/float16/bfloat16/double) as Float32Array. */
export function tensorToFloat32(t: TensorProto): Float32Array {
  const a = tensorToTypedArray(t, { float16AsFloat32: true });
  if (a instanceof Float32Array) return a;
  if (a instanceof Float64Array) return Float32Array.from(a);
  fail(t, `expected a floating-point tensor, got ${elemTypeName(t.dataType)}`);
}

/** Small integer tensors (shapes, axes, pads) as plain numbers. */
export function tensorToNumbers(t: TensorProto): number[] {
  const a = tensorToTypedArray(t, { float16AsFloat32: true });
  return Array.from(a as ArrayLike<number | bigint>, (v) => Number(v));
}

function dataTypeOf(data: TensorData): number {
  if (data instanceof Float32Array) return DT.FLOAT;
  if (data instanceof Float64Array) return DT.DOUBLE;
  if (data instanceof Int8Array) return DT.INT8;
  if (data instanceof Uint8Array) return DT.UINT8;
  if (data instanceof Int16Array) return DT.INT16;
  if (data instanceof Uint16Array) return DT.UINT16;
  if (data instanceof Int32Array) return DT.INT32;
  if (data instanceof Uint32Array) return DT.UINT32;
  if (data instanceof BigInt64Array) return DT.INT64;
  return DT.UINT64;
}

/**
 * A new TensorProto holding `data` as raw_data (a view of `data`'s bytes, no
 * copy). The element type follows the array type; pass `dataType` for
 * float16/bfloat16 (Uint16Array bits) or bool (Uint8Array).
 */
export function makeTensor(name: string, dims: readonly number[], data: TensorData, dataType?: number): TensorProto {
  const n = numElements(dims);
  if (data.length !== n) {
    throw new QtuneError('onnx_tensor', `makeTensor '${name}': ${data.length} values do not fill dims ${JSON.stringify(dims)} (${n})`);
  }
  return emptyTensor({
    name,
    dims: dims.map((d) => d as Int64),
    dataType: dataType ?? dataTypeOf(data),
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  });
}

/** Scalar or 1-D int64 tensor, the usual form of shape/axes/pads inputs. */
export function makeInt64Tensor(name: string, values: readonly (number | bigint)[], dims: readonly number[] = [values.length]): TensorProto {
  return makeTensor(name, dims, BigInt64Array.from(values, (v) => BigInt(v)));
}

/** A TensorProto with every repeated field present as an own array. */
export function emptyTensor(fields: Partial<TensorProto>): TensorProto {
  return {
    dims: [], floatData: [], int32Data: [], stringData: [], int64Data: [], externalData: [], doubleData: [], uint64Data: [],
    ...fields,
  };
}

/** The tensor's payload as little-endian bytes (raw_data as is, typed fields packed). */
export function tensorBytes(t: TensorProto): Uint8Array {
  if (t.rawData && t.rawData.byteLength > 0) return t.rawData;
  const a = tensorToTypedArray(t);
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Move typed-field payloads into raw_data (used before writing external data). */
export function toRawData(t: TensorProto): void {
  if (t.dataType === DT.STRING || (t.rawData && t.rawData.byteLength > 0)) return;
  const bytes = tensorBytes(t);
  t.rawData = bytes;
  t.floatData = []; t.int32Data = []; t.int64Data = []; t.doubleData = []; t.uint64Data = [];
}

export { int64FromBigInt };
