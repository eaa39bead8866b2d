// Reading and writing .onnx files. The file is read once into one buffer and
// every raw_data becomes a view into it (no copy of weights). External data
// (tensors whose bytes live in a file beside the model) is resolved at load
// time the same way: one read per external file, views into it.
import { existsSync, readFileSync, readSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { cancelledError, QtuneError, throwIfAborted, type ErrorCode } from '../../shared/errors';
import { subgraphsOf } from './attrs';
import { OnnxModel } from './model';
import { assignNodeNames } from './names';
import { DATA_LOCATION_EXTERNAL, DT, decodeModelProto, encodeModelProto, toNum, type GraphProto, type ModelProto, type TensorProto } from './proto';
import { tensorBytes, toRawData } from './tensor';

/** Highest IR version onnxruntime-node 1.30 accepts (checked: 13 loads, 14 is refused). */
export const MAX_IR_VERSION = 13;

/** Operator domains ONNX Runtime implements; a node in any other domain cannot run. */
export const KNOWN_DOMAINS = new Set([
  '', 'ai.onnx', 'ai.onnx.ml', 'ai.onnx.training', 'ai.onnx.preview.training',
  'com.microsoft', 'com.microsoft.nchwc', 'com.microsoft.experimental', 'com.ms.internal.nhwc',
]);

export interface LoadOptions {
  /** give unnamed/duplicate nodes their deterministic names (default true) */
  assignNames?: boolean;
  /** directory external data paths are relative to (default: the model's directory) */
  baseDir?: string;
}

/** Call `fn` on every TensorProto in a graph: initializers, attribute tensors, and the same inside subgraphs. */
export function forEachTensor(g: GraphProto, fn: (t: TensorProto) => void): void {
  for (const t of g.initializer) fn(t);
  for (const n of g.node) {
    for (const a of n.attribute) {
      if (a.t) fn(a.t);
      for (const t of a.tensors) fn(t);
    }
    for (const sg of subgraphsOf(n)) forEachTensor(sg, fn);
  }
}

function forEachGraph(g: GraphProto, fn: (g: GraphProto) => void): void {
  fn(g);
  for (const n of g.node) for (const sg of subgraphsOf(n)) forEachGraph(sg, fn);
}

function loadError(file: string, problem: string, code: ErrorCode = 'onnx_load'): QtuneError {
  return new QtuneError(code, `${file}: ${problem}`, { file });
}

/** Why a model file could not be read, in the user's words. */
function readError(path: string, e: unknown): QtuneError {
  if (e instanceof QtuneError) return e;
  if ((e as Error).name === 'AbortError') return cancelledError();
  const code = (e as NodeJS.ErrnoException).code;
  return loadError(path, code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not an ONNX file' : `cannot read file (${code ?? String(e)})`);
}

/** Read a .onnx file into an OnnxModel (external data resolved, nodes named). */
export function loadModel(path: string, opts: LoadOptions = {}): OnnxModel {
  let bytes: Buffer;
  try {
    if (statSync(path).isDirectory()) throw loadError(path, 'is a directory, not an ONNX file');
    bytes = readFileSync(path);
  } catch (e) {
    throw readError(path, e);
  }
  return loadModelFromBytes(bytes, { ...opts, path, baseDir: opts.baseDir ?? dirname(path) });
}

/**
 * loadModel for long-running jobs: the file is read without holding the thread (a large model on a cold disk
 * takes seconds), and a Cancel stops the read.
 */
export async function loadModelAsync(path: string, opts: LoadOptions & { signal?: AbortSignal } = {}): Promise<OnnxModel> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path, { signal: opts.signal });
  } catch (e) {
    throw readError(path, e);
  }
  throwIfAborted(opts.signal);
  return loadModelFromBytes(bytes, { ...opts, path, baseDir: opts.baseDir ?? dirname(path) });
}

/** Decode in-memory model bytes. `path` only names the model in errors. */
export function loadModelFromBytes(bytes: Uint8Array, opts: LoadOptions & { path?: string } = {}): OnnxModel {
  const file = opts.path ?? '<memory>';
  if (bytes.byteLength === 0) throw loadError(file, 'file is empty (0 bytes), not an ONNX model');
  let proto: ModelProto;
  try {
    proto = decodeModelProto(bytes);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/index out of range/.test(msg) && looksLikeModelStart(bytes)) throw loadError(file, `file is truncated or damaged (protobuf data ends early after ${bytes.byteLength} bytes)`);
    throw loadError(file, `not an ONNX model (protobuf decoding failed: ${msg})`);
  }
  validate(proto, file);
  resolveExternalData(proto, file, opts.baseDir ?? process.cwd());
  const model = new OnnxModel(proto, opts.path);
  if (opts.assignNames !== false) {
    model.generatedNames = assignNodeNames(model.graph.nodes);
    // body nodes too: layers inside If/Loop/Scan are addressed by `<node>/<attribute>/<body node>`
    forEachGraph(model.graph.proto, (g) => { if (g !== model.graph.proto) assignNodeNames(g.node); });
  }
  return model;
}

// ModelProto field tags (field number << 3 | wire type) a file can open with.
const MODEL_TAGS = new Set([0x08, 0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72]);

/** Whether the bytes open like a serialized ModelProto (so a decode failure means damage, not a different format). */
function looksLikeModelStart(bytes: Uint8Array): boolean {
  if (bytes[0] === 0x08) return bytes[1] > 0 && bytes[1] <= MAX_IR_VERSION + 10;
  return MODEL_TAGS.has(bytes[0]) || (bytes[0] === 0xa2 && bytes[1] === 0x01) || (bytes[0] === 0xca && bytes[1] === 0x01);
}

function validate(proto: ModelProto, file: string): void {
  const ir = toNum(proto.irVersion);
  // Random bytes can decode as protobuf by chance; a real model always has
  // an IR version, a graph and (from IR 3) opset imports.
  if (!proto.graph || ir <= 0 || (proto.opsetImport.length === 0 && ir >= 3) || proto.graph.node.length === 0 && proto.graph.output.length === 0) {
    throw loadError(file, 'not an ONNX model (no IR version, graph or opset import found)');
  }
  if (ir > MAX_IR_VERSION) {
    throw loadError(file, `IR version ${ir} is newer than qtune supports (up to ${MAX_IR_VERSION}); re-export the model with an older ONNX exporter`, 'onnx_ir_version');
  }
  const functionDomains = new Set(proto.functions.map((f) => f.domain ?? ''));
  for (const imp of proto.opsetImport) {
    const d = imp.domain ?? '';
    if (!KNOWN_DOMAINS.has(d) && !functionDomains.has(d)) {
      throw loadError(file, `imports unknown operator domain '${d}' (ONNX Runtime cannot run it)`, 'onnx_domain');
    }
  }
  forEachGraph(proto.graph, (g) => {
    for (const n of g.node) {
      const d = n.domain ?? '';
      if (!KNOWN_DOMAINS.has(d) && !functionDomains.has(d)) {
        throw loadError(file, `node '${n.name || n.opType}' (${n.opType}) uses unknown operator domain '${d}'`, 'onnx_domain');
      }
    }
  });
}

function externalEntry(t: TensorProto, key: string): string | undefined {
  return t.externalData.find((e) => e.key === key)?.value;
}

/** Bytes [offset, offset + length) of an open file, read in pieces (one read call takes at most 2 GiB). */
function readRange(fd: number, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  const PIECE = 1 << 30;
  for (let done = 0; done < length;) {
    const n = readSync(fd, out, done, Math.min(PIECE, length - done), offset + done);
    if (n <= 0) throw new Error(`the file ended at byte ${offset + done}`);
    done += n;
  }
  return out;
}

/**
 * Each external tensor is read on its own from its file (no whole-file buffer: a data file may be larger than
 * one Node buffer read allows, 2 GiB), so memory holds the weights once.
 */
function resolveExternalData(proto: ModelProto, file: string, baseDir: string): void {
  const files = new Map<string, { fd: number; size: number }>();
  try {
    forEachTensor(proto.graph!, (t) => {
      if (t.dataLocation !== DATA_LOCATION_EXTERNAL) return;
      const location = externalEntry(t, 'location');
      if (!location) throw loadError(file, `tensor '${t.name}' has external data without a 'location'`);
      const norm = normalize(location);
      if (isAbsolute(norm) || norm.startsWith('..')) throw loadError(file, `tensor '${t.name}': external data location '${location}' must be a relative path inside the model's folder`);
      const full = resolve(baseDir, norm);
      let data = files.get(full);
      if (!data) {
        if (!existsSync(full)) throw loadError(file, `external data file '${location}' not found (needed by tensor '${t.name}', looked in ${baseDir})`, 'onnx_external_data');
        // Like onnxruntime: a link in the model's folder must not pull in a file from elsewhere.
        const real = realpathSync(full);
        const rel = relative(realpathSync(baseDir), real);
        if (!rel || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
          throw loadError(file, `tensor '${t.name}': external data file '${location}' is a link to ${real}, outside the model's folder`, 'onnx_external_data');
        }
        const info = statSync(real);
        if (!info.isFile()) throw loadError(file, `tensor '${t.name}': external data '${location}' is not a file`, 'onnx_external_data');
        data = { fd: openSync(real, 'r'), size: info.size };
        files.set(full, data);
      }
      const offset = Number(externalEntry(t, 'offset') ?? 0);
      const length = externalEntry(t, 'length') !== undefined ? Number(externalEntry(t, 'length')) : data.size - offset;
      if (!(offset >= 0 && length >= 0 && offset + length <= data.size)) {
        throw loadError(file, `tensor '${t.name}': external data range ${offset}+${length} lies beyond the end of '${location}' (${data.size} bytes)`, 'onnx_external_data');
      }
      try {
        t.rawData = readRange(data.fd, offset, length);
      } catch (e) {
        throw loadError(file, `tensor '${t.name}': cannot read external data '${location}' (${(e as Error).message})`, 'onnx_external_data');
      }
      t.externalData = [];
      delete t.dataLocation;
    });
  } finally {
    for (const f of files.values()) closeSync(f.fd);
  }
}

/**
 * The most tensor bytes a model may hold to be written as one protobuf message (the format's limit is 2 GiB;
 * the rest of the graph needs room too). Larger models are saved, and handed to ONNX Runtime, with external data.
 */
export const INLINE_LIMIT_BYTES = 2 ** 31 - 2 ** 26;

/** Bytes of every tensor's data in the model (initializers, Constant and subgraph tensors). */
export function tensorDataBytes(model: OnnxModel): number {
  let total = 0;
  forEachTensor(model.proto.graph!, (t) => {
    if (t.dataType !== DT.STRING) total += tensorBytes(t).byteLength;
  });
  return total;
}

/** Whether the model is too large for one protobuf message (see INLINE_LIMIT_BYTES). */
export function needsExternalData(model: OnnxModel, limit = inlineLimit()): boolean {
  return tensorDataBytes(model) > limit;
}

/** QTUNE_INLINE_LIMIT_BYTES lowers the limit, so the external-data paths can be exercised on small models. */
function inlineLimit(): number {
  const v = Number(process.env.QTUNE_INLINE_LIMIT_BYTES);
  return Number.isFinite(v) && v > 0 ? Math.min(v, INLINE_LIMIT_BYTES) : INLINE_LIMIT_BYTES;
}

/** The external data file written beside `path` when a model is too large to be saved inline. */
export const externalDataFileFor = (path: string): string => `${basename(path)}.data`;

export interface SaveOptions {
  /** write tensors of at least `threshold` bytes (default 1024) to `file` beside the model */
  externalData?: { file: string; threshold?: number };
}

/** The model as .onnx bytes with all data inline (for ORT sessions in memory). */
export function serializeModel(model: OnnxModel): Uint8Array {
  return encodeModelProto(model.proto);
}

/** A file that saving a model writes: its path and its bytes, in pieces. */
interface SavedFile {
  path: string;
  chunks: Uint8Array[];
}

/**
 * The files a model is saved as: the model itself, and with external data its data file first. The
 * in-memory model is left unchanged (its tensors point at the data file only while it is encoded).
 */
function savedFiles(model: OnnxModel, path: string, opts: SaveOptions): SavedFile[] {
  // a model over the protobuf limit cannot be written inline: its weights go beside it, in <file>.data
  const ext = opts.externalData ?? (needsExternalData(model) ? { file: externalDataFileFor(path) } : undefined);
  if (!ext) return [{ path, chunks: [serializeModel(model)] }];
  if (ext.file !== basename(ext.file)) throw new QtuneError('onnx_save', `external data file '${ext.file}' must be a plain file name (it is written beside ${path})`, { file: path });
  const threshold = ext.threshold ?? 1024;
  const restore: (() => void)[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  try {
    forEachTensor(model.proto.graph!, (t) => {
      if (t.dataType === DT.STRING) return;
      const bytes = tensorBytes(t);
      if (bytes.byteLength < threshold) return;
      const saved = { ...t };
      restore.push(() => {
        for (const k of Object.keys(t)) delete (t as unknown as Record<string, unknown>)[k];
        Object.assign(t, saved);
      });
      toRawData(t);
      // keep each tensor 64-byte aligned, so a reader can map it directly
      const pad = (64 - (offset % 64)) % 64;
      if (pad) { chunks.push(new Uint8Array(pad)); offset += pad; }
      chunks.push(bytes);
      t.externalData = [
        { key: 'location', value: ext.file },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(bytes.byteLength) },
      ];
      t.dataLocation = DATA_LOCATION_EXTERNAL;
      delete t.rawData;
      offset += bytes.byteLength;
    });
    return [{ path: join(dirname(path), ext.file), chunks }, { path, chunks: [serializeModel(model)] }];
  } finally {
    for (const r of restore.reverse()) r();
  }
}

/**
 * Write the model (atomically: temp file + rename). With `externalData`,
 * large tensors go to one data file next to the model, referenced by
 * location/offset/length; the in-memory model is left unchanged. A model too
 * large for one protobuf message gets external data `<file>.data` by itself.
 */
export function saveModel(model: OnnxModel, path: string, opts: SaveOptions = {}): void {
  const files = savedFiles(model, path, opts);
  for (const f of files) writeAtomic(f.path, files.length === 1 ? f.chunks[0] : f.chunks);
}

const tempNameOf = (path: string): string => `${path}.tmp-${process.pid}`;
const saveError = (path: string, e: unknown): QtuneError => new QtuneError('onnx_save', `${path}: cannot write (${(e as Error).message})`, { file: path });

/** Bytes written per call: at most about 2 GiB go in one write, and a Cancel is heard between pieces. */
const WRITE_PIECE = 1 << 22;

/**
 * saveModel for long-running jobs: the bytes are written without holding the thread, a Cancel is heard between
 * pieces of 4 MiB, and every file is renamed into place only once all of them are written. A cancelled or
 * failed save removes its temp files and leaves any file already at `path` as it was.
 */
export async function saveModelAsync(model: OnnxModel, path: string, opts: SaveOptions & { signal?: AbortSignal } = {}): Promise<void> {
  const files = savedFiles(model, path, opts);
  const written: string[] = [];
  try {
    for (const f of files) {
      const tmp = tempNameOf(f.path);
      written.push(tmp);
      const fh = await open(tmp, 'w').catch((e: unknown) => { throw saveError(f.path, e); });
      try {
        for (const c of f.chunks) {
          for (let done = 0; done < c.byteLength;) {
            throwIfAborted(opts.signal);
            done += (await fh.write(c, done, Math.min(c.byteLength - done, WRITE_PIECE))).bytesWritten;
          }
        }
        await fh.sync();
      } catch (e) {
        throw e instanceof QtuneError ? e : saveError(f.path, e);
      } finally {
        await fh.close();
      }
    }
    throwIfAborted(opts.signal);
    files.forEach((f, i) => renameSync(written[i], f.path));
  } catch (e) {
    for (const tmp of written) rmSync(tmp, { force: true });
    throw e instanceof QtuneError ? e : saveError(path, e);
  }
}

function writeAtomic(path: string, data: Uint8Array | Uint8Array[]): void {
  const tmp = tempNameOf(path);
  try {
    if (Array.isArray(data)) {
      const fd = openSync(tmp, 'w');
      try {
        for (const c of data) {
          // one write call takes at most about 2 GiB: a larger tensor is written in pieces
          for (let done = 0; done < c.byteLength;) done += writeSync(fd, c, done, Math.min(c.byteLength - done, 1 << 30));
        }
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } else {
      writeFileSync(tmp, data);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw saveError(path, e);
  }
}
