// NumPy .npy / .npz reading and writing.
//
// Calibration and evaluation data usually arrives as arrays saved with
// numpy.save / numpy.savez. The format is small: a magic string, a version, a
// Python-dict header (dtype, order, shape) and the raw bytes. We support what
// users actually save for model inputs and labels (little-endian numeric
// dtypes in C order) and refuse the rest with an error that names the file.
// Spec: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html

import { open, readFile, writeFile } from 'node:fs/promises';
import { unzipSync, zipSync } from 'fflate';
import { QtuneError } from '../../shared/errors';

export type NdDtype = 'float32' | 'float16' | 'float64' | 'uint8' | 'int8' | 'int32' | 'int64' | 'bool';

export type NdData = Float32Array | Uint8Array | Int8Array | Int32Array | BigInt64Array | Uint16Array | Float64Array;

/** An n-dimensional array in C (row-major) order. float16 is kept as raw Uint16 bits, bool as Uint8 0/1. */
export interface NdArray {
  dtype: NdDtype;
  shape: number[];
  data: NdData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

interface DtypeInfo {
  dtype: NdDtype;
  bytes: number;
}

// descr without its byte-order character → our dtype.
const DESCR: Record<string, DtypeInfo> = {
  f4: { dtype: 'float32', bytes: 4 },
  f2: { dtype: 'float16', bytes: 2 },
  f8: { dtype: 'float64', bytes: 8 },
  u1: { dtype: 'uint8', bytes: 1 },
  i1: { dtype: 'int8', bytes: 1 },
  i4: { dtype: 'int32', bytes: 4 },
  i8: { dtype: 'int64', bytes: 8 },
  b1: { dtype: 'bool', bytes: 1 },
};

const DESCR_OF: Record<NdDtype, string> = {
  float32: '<f4',
  float16: '<f2',
  float64: '<f8',
  uint8: '|u1',
  int8: '|i1',
  int32: '<i4',
  int64: '<i8',
  bool: '|b1',
};

export function dtypeByteSize(dtype: NdDtype): number {
  return DESCR[DESCR_OF[dtype].slice(1)].bytes;
}

function fail(file: string | undefined, message: string, hint?: string): never {
  const where = file ? `${file}: ` : '';
  // Header text from a damaged file can hold any byte: keep the message on one readable line.
  const printable = message.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  throw new QtuneError('npy_invalid', `${where}${printable}`, { file, hint });
}

interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

/** Parses the Python dict literal numpy writes, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }. */
function parseHeader(text: string, file?: string): NpyHeader {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr) {
    // A list here means a structured (record) dtype.
    if (/'descr'\s*:\s*\[/.test(text)) fail(file, 'structured (record) dtypes are not supported; save a plain numeric array');
    fail(file, `malformed .npy header (no 'descr'): ${text.trim()}`);
  }
  if (!fortran || !shape) fail(file, `malformed .npy header: ${text.trim()}`);
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number(s.replace(/L$/, '')));
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) fail(file, `malformed shape in .npy header: (${shape[1]})`);
  return { descr: descr[1], fortranOrder: fortran[1] === 'True', shape: dims };
}

function resolveDescr(descr: string, file?: string): DtypeInfo {
  const order = descr[0];
  const code = descr.slice(1);
  const info = DESCR[code];
  if (!info || !['<', '>', '|', '='].includes(order)) {
    fail(
      file,
      `unsupported dtype '${descr}'`,
      'qtune reads float32, float16, float64, uint8, int8, int32, int64 and bool arrays; convert with arr.astype(...)',
    );
  }
  // Big-endian only matters for multi-byte types.
  if (order === '>' && info.bytes > 1) {
    fail(file, `big-endian dtype '${descr}' is not supported`, "convert with arr.astype(arr.dtype.newbyteorder('<'))");
  }
  return info;
}

function viewAs(dtype: NdDtype, buf: ArrayBuffer, count: number): NdData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf, 0, count);
    case 'float16':
      return new Uint16Array(buf, 0, count);
    case 'float64':
      return new Float64Array(buf, 0, count);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf, 0, count);
    case 'int8':
      return new Int8Array(buf, 0, count);
    case 'int32':
      return new Int32Array(buf, 0, count);
    case 'int64':
      return new BigInt64Array(buf, 0, count);
  }
}

export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export interface NpyLayout {
  dtype: NdDtype;
  shape: number[];
  /** byte offset of the data */
  dataStart: number;
  /** bytes of data the shape needs */
  need: number;
}

/**
 * The header of .npy bytes (at least up to the end of the header), checked.
 * `fileSize` is the whole file's length, for the truncation check.
 */
function parseNpyLayout(bytes: Uint8Array, fileSize: number, file?: string): NpyLayout {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) fail(file, 'not a .npy file (bad magic)');
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail(file, 'truncated .npy header');
    headerLen = dv.getUint32(8, true);
    headerStart = 12;
  } else {
    fail(file, `unsupported .npy format version ${major}.${bytes[7]}`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) fail(file, 'truncated .npy header');
  // v1/v2 headers are latin1, v3 is utf8; both decode plain ASCII identically.
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  const header = parseHeader(text, file);
  const info = resolveDescr(header.descr, file);
  const count = shapeSize(header.shape);
  if (header.fortranOrder && header.shape.filter((d) => d > 1).length > 1) {
    fail(file, 'Fortran-order arrays are not supported', 'save with np.save(path, np.ascontiguousarray(arr))');
  }
  const need = count * info.bytes;
  if (fileSize - dataStart < need) {
    fail(file, `truncated data: shape (${header.shape.join(', ')}) needs ${need} bytes, file has ${fileSize - dataStart}`);
  }
  return { dtype: info.dtype, shape: header.shape, dataStart, need };
}

/** Decodes .npy bytes. `file` is only used in error messages. */
export function parseNpy(bytes: Uint8Array, file?: string): NdArray {
  const { dtype, shape, dataStart, need } = parseNpyLayout(bytes, bytes.length, file);
  // Copy into a fresh buffer: the data offset is rarely aligned for typed-array views.
  // (Explicit copy, because Node's Buffer#slice returns a view, not a copy.)
  const copy = new Uint8Array(need);
  copy.set(bytes.subarray(dataStart, dataStart + need));
  return { dtype, shape, data: viewAs(dtype, copy.buffer, shapeSize(shape)) };
}

/**
 * Where the data of a .npy file lies, from its header alone (the data is not
 * read): for reading samples as they are needed.
 */
export async function readNpyLayout(path: string): Promise<NpyLayout> {
  try {
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const head = new Uint8Array(12);
      await fh.read(head, 0, 12, 0);
      // the header's length is in its first 12 bytes; read it whole (small, but it may exceed any fixed guess)
      const len = head[6] === 1 ? 10 + (head[8] | (head[9] << 8)) : 12 + new DataView(head.buffer).getUint32(8, true);
      const bytes = new Uint8Array(Math.min(size, Math.max(12, len)));
      await fh.read(bytes, 0, bytes.length, 0);
      return parseNpyLayout(bytes, size, path);
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof QtuneError) throw err;
    throw new QtuneError('file_not_readable', `cannot read ${path}: ${(err as Error).message}`, { file: path });
  }
}

export async function readNpy(path: string): Promise<NdArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new QtuneError('file_not_readable', `cannot read ${path}: ${(err as Error).message}`, { file: path });
  }
  return parseNpy(bytes, path);
}

function dataMatchesDtype(arr: NdArray): boolean {
  const d = arr.data;
  switch (arr.dtype) {
    case 'float32':
      return d instanceof Float32Array;
    case 'float16':
      return d instanceof Uint16Array;
    case 'float64':
      return d instanceof Float64Array;
    case 'uint8':
    case 'bool':
      return d instanceof Uint8Array;
    case 'int8':
      return d instanceof Int8Array;
    case 'int32':
      return d instanceof Int32Array;
    case 'int64':
      return d instanceof BigInt64Array;
  }
}

/** Encodes an array as .npy (version 1.0 when the header fits, else 2.0), header padded to 64 bytes like numpy does. */
export function encodeNpy(arr: NdArray): Uint8Array {
  if (!dataMatchesDtype(arr)) throw new QtuneError('array_invalid', `array data does not match dtype ${arr.dtype}`);
  const count = shapeSize(arr.shape);
  if (arr.data.length !== count) {
    throw new QtuneError('array_invalid', `array has ${arr.data.length} elements but shape (${arr.shape.join(', ')}) needs ${count}`);
  }
  const shapeText = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let dict = `{'descr': '${DESCR_OF[arr.dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const v1 = dict.length + 1 + 10 < 65536;
  const prefix = v1 ? 10 : 12;
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  dict = dict + ' '.repeat(total - prefix - dict.length - 1) + '\n';
  const body = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  const out = new Uint8Array(total + body.byteLength);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (v1) dv.setUint16(8, dict.length, true);
  else dv.setUint32(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[prefix + i] = dict.charCodeAt(i);
  out.set(body, total);
  return out;
}

export async function writeNpy(path: string, arr: NdArray): Promise<void> {
  await writeFile(path, encodeNpy(arr));
}

/** IEEE 754 half → float. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Converts any supported array to float32 values (int64 beyond 2^53 loses precision, as in numpy). */
export function toFloat32(arr: NdArray): Float32Array {
  const d = arr.data;
  if (d instanceof Float32Array) return d;
  const out = new Float32Array(d.length);
  if (arr.dtype === 'float16') {
    for (let i = 0; i < d.length; i++) out[i] = halfToFloat((d as Uint16Array)[i]);
  } else if (d instanceof BigInt64Array) {
    for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  } else {
    out.set(d as ArrayLike<number>);
  }
  return out;
}

/** Decodes .npz bytes (a zip of .npy files, stored or deflated) into name → array; names lose their '.npy'. */
export function parseNpz(bytes: Uint8Array, file?: string): Map<string, NdArray> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (err) {
    fail(file, `not a valid .npz (zip) file: ${(err as Error).message}`);
  }
  const out = new Map<string, NdArray>();
  for (const [name, content] of Object.entries(entries)) {
    if (name.endsWith('/')) continue;
    const key = name.endsWith('.npy') ? name.slice(0, -4) : name;
    out.set(key, parseNpy(content, file ? `${file}[${key}]` : key));
  }
  return out;
}

export async function readNpz(path: string): Promise<Map<string, NdArray>> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new QtuneError('file_not_readable', `cannot read ${path}: ${(err as Error).message}`, { file: path });
  }
  return parseNpz(bytes, path);
}

/** Writes name → array as an .npz (deflated when `compress`, like numpy.savez_compressed). */
export async function writeNpz(path: string, arrays: Record<string, NdArray>, compress = false): Promise<void> {
  const files: Record<string, Uint8Array> = {};
  for (const [name, arr] of Object.entries(arrays)) files[`${name}.npy`] = encodeNpy(arr);
  await writeFile(path, zipSync(files, { level: compress ? 6 : 0 }));
}
