// The engine's own int8 arithmetic. It must give exactly what ONNX Runtime
// computes for the exported QuantizeLinear/DequantizeLinear pair, so that the
// losses the engine optimises and the errors it reports are the ones the user
// will get: ORT divides in float32 and rounds half to even (nearbyint).

export const INT8_MIN = -128;
export const INT8_MAX = 127;

/** Round to the nearest integer, halves to the even neighbour (IEEE nearbyint). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // halves go toward +Infinity here
  // r - x is exact for the values where it can equal 0.5, so this only fires on true ties.
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

/** int8 code of one value: clamp(round(x / scale) + offset, -128, 127), divided in float32 like ORT. */
export function quantizeValue(x: number, scale: number, offset: number): number {
  const t = Math.fround(Math.fround(x) / Math.fround(scale));
  const q = roundHalfEven(t) + offset;
  return q < INT8_MIN ? INT8_MIN : q > INT8_MAX ? INT8_MAX : q;
}

/** Float value that DequantizeLinear gives back for an int8 code: (q - offset) * scale in float32. */
export function dequantizeValue(q: number, scale: number, offset: number): number {
  return Math.fround((q - offset) * Math.fround(scale));
}

/** QuantizeLinear then DequantizeLinear over a whole tensor (per-tensor scale and offset). */
export function fakeQuantize(data: Float32Array, scale: number, offset: number): Float32Array {
  const out = new Float32Array(data.length);
  const s = Math.fround(scale);
  for (let i = 0; i < data.length; i++) {
    out[i] = dequantizeValue(quantizeValue(data[i], s, offset), s, offset);
  }
  return out;
}

/** QuantizeLinear over a whole tensor, to int8 codes. */
export function quantizeTensor(data: Float32Array, scale: number, offset: number): Int8Array {
  const out = new Int8Array(data.length);
  const s = Math.fround(scale);
  for (let i = 0; i < data.length; i++) out[i] = quantizeValue(data[i], s, offset);
  return out;
}
