// Element-type conversion between what a data file holds and what a model input wants.

import { QtuneError } from '../../shared/errors';
import type { NdData, NdDtype } from './npy';
import { halfToFloat } from './npy';

export const SUPPORTED_DTYPES: readonly NdDtype[] = ['float32', 'float16', 'float64', 'uint8', 'int8', 'int32', 'int64', 'bool'];

export function isSupportedDtype(t: string): t is NdDtype {
  return (SUPPORTED_DTYPES as readonly string[]).includes(t);
}

export function allocData(dtype: NdDtype, n: number): NdData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float16':
      return new Uint16Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'int64':
      return new BigInt64Array(n);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** float → IEEE half bits, round to nearest even (what numpy's astype(float16) does). */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // Rounding may carry into the exponent; those are still the right bits.
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

const RANGE: Partial<Record<NdDtype, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int32: [-2147483648, 2147483647],
  bool: [0, 1],
};

/** One element as a JS number. */
export function readElement(data: NdData, dtype: NdDtype, i: number): number {
  const v = data[i];
  if (typeof v === 'bigint') return Number(v);
  return dtype === 'float16' ? halfToFloat(v) : v;
}

/**
 * Converts `src` (of `from`) to `to`. Float → integer rounds and clamps, as
 * image pipelines expect; the same array is returned when nothing changes.
 */
export function convertData(src: NdData, from: NdDtype, to: NdDtype): NdData {
  if (from === to) return src;
  const n = src.length;
  const out = allocData(to, n);
  if (to === 'float16') {
    const o = out as Uint16Array;
    for (let i = 0; i < n; i++) o[i] = floatToHalf(readElement(src, from, i));
  } else if (to === 'int64') {
    const o = out as BigInt64Array;
    for (let i = 0; i < n; i++) o[i] = BigInt(Math.round(readElement(src, from, i)));
  } else if (to === 'float32' || to === 'float64') {
    const o = out as Float32Array | Float64Array;
    if (from === 'float16' || from === 'int64') for (let i = 0; i < n; i++) o[i] = readElement(src, from, i);
    else o.set(src as ArrayLike<number>);
  } else {
    const [lo, hi] = RANGE[to]!;
    const o = out as Uint8Array | Int8Array | Int32Array;
    for (let i = 0; i < n; i++) {
      const v = Math.round(readElement(src, from, i));
      o[i] = to === 'bool' ? (v !== 0 ? 1 : 0) : v < lo ? lo : v > hi ? hi : v;
    }
  }
  return out;
}

/** Maps an ONNX Runtime element type name to ours, or explains which input wants what. */
export function dtypeForModelInput(type: string, inputName: string): NdDtype {
  const t = type.replace(/^tensor\((.*)\)$/, '$1');
  const alias: Record<string, NdDtype> = { float: 'float32', double: 'float64' };
  const d = alias[t] ?? t;
  if (!isSupportedDtype(d)) {
    throw new QtuneError('input_type_unsupported', `model input '${inputName}' has element type ${type}, which qtune cannot feed`, {
      path: `inputs.${inputName}`,
    });
  }
  return d;
}
