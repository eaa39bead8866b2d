import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { QtuneError } from '../../shared/errors';
import { decodeBmp } from './bmp';
import { openDataset, type Batch, type Dataset } from './dataset';
import { loadImageTensor } from './image';
import { parseLabelText } from './labels';
import { datasetFromShortForm, loadDatasetManifest, validateDatasetDescription } from './manifest';
import { writeNpy } from './npy';

let tmp: string;
const f32 = (n: number, f = (i: number) => i) => Float32Array.from({ length: n }, (_, i) => f(i));

async function collect(ds: Dataset, opts: Parameters<Dataset['batches']>[0]): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of ds.batches(opts)) out.push(b);
  return out;
}

/** A 24-bit bottom-up BMP (the common kind), written byte by byte from RGB rows, top row first. */
function bmp24(rows: number[][][]): Uint8Array {
  const h = rows.length;
  const w = rows[0].length;
  const rowBytes = Math.ceil((w * 3) / 4) * 4;
  const buf = new Uint8Array(54 + rowBytes * h);
  const dv = new DataView(buf.buffer);
  buf.set([0x42, 0x4d]);
  dv.setUint32(2, buf.length, true);
  dv.setUint32(10, 54, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, w, true);
  dv.setInt32(22, h, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, 24, true);
  rows.forEach((row, y) =>
    row.forEach(([r, g, b], x) => buf.set([b, g, r], 54 + (h - 1 - y) * rowBytes + x * 3)),
  );
  return buf;
}

/** An 8-bit palette BMP, top-down (negative height). */
function bmp8(indices: number[][], palette: number[][]): Uint8Array {
  const h = indices.length;
  const w = indices[0].length;
  const rowBytes = Math.ceil(w / 4) * 4;
  const off = 54 + palette.length * 4;
  const buf = new Uint8Array(off + rowBytes * h);
  const dv = new DataView(buf.buffer);
  buf.set([0x42, 0x4d]);
  dv.setUint32(10, off, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, w, true);
  dv.setInt32(22, -h, true);
  dv.setUint16(28, 8, true);
  dv.setUint32(46, palette.length, true);
  palette.forEach(([r, g, b], i) => buf.set([b, g, r, 0], 54 + i * 4));
  indices.forEach((row, y) => row.forEach((v, x) => (buf[off + y * rowBytes + x] = v)));
  return buf;
}

async function png(path: string, w: number, h: number, pixel: (x: number, y: number) => number[], channels: 1 | 3 = 3): Promise<void> {
  const raw = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set(pixel(x, y), (y * w + x) * channels);
  await sharp(raw, { raw: { width: w, height: h, channels } }).toFile(path);
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'qtune-data-'));
  // 6×4 image: R = 10·x, G = 10·y, B = 200
  await png(join(tmp, 'grad.png'), 6, 4, (x, y) => [10 * x, 10 * y, 200]);
  await png(join(tmp, 'flat.png'), 8, 6, () => [40, 80, 120]);
  await sharp(Buffer.alloc(16 * 16 * 3, 0).fill(100), { raw: { width: 16, height: 16, channels: 3 } }).jpeg({ quality: 95 }).toFile(join(tmp, 'grey.jpg'));
});

describe('image preprocessing', () => {
  it('scale, mean and std per channel, NCHW (hand-computed)', async () => {
    const t = await loadImageTensor(join(tmp, 'grad.png'), { scale: 1 / 255, mean: [0.5, 0.4, 0.3], std: [0.25, 0.5, 0.2] });
    expect(t.shape).toEqual([3, 4, 6]);
    // pixel x=2, y=3: R=20, G=30, B=200
    const at = (c: number) => (t.data as Float32Array)[c * 24 + 3 * 6 + 2];
    expect(at(0)).toBeCloseTo((20 / 255 - 0.5) / 0.25, 5);
    expect(at(1)).toBeCloseTo((30 / 255 - 0.4) / 0.5, 5);
    expect(at(2)).toBeCloseTo((200 / 255 - 0.3) / 0.2, 5);
  });

  it('BGR order and NHWC layout', async () => {
    const t = await loadImageTensor(join(tmp, 'grad.png'), { color: 'bgr', layout: 'NHWC' });
    expect(t.shape).toEqual([4, 6, 3]);
    const p = (3 * 6 + 2) * 3;
    expect(Array.from((t.data as Float32Array).subarray(p, p + 3))).toEqual([200, 30, 20]);
  });

  it('centre crop takes the middle (torchvision offsets), uint8 output', async () => {
    const t = await loadImageTensor(join(tmp, 'grad.png'), { centerCrop: [2, 2], dtype: 'uint8' });
    expect(t.shape).toEqual([3, 2, 2]);
    expect(t.data).toBeInstanceOf(Uint8Array);
    // left = round((6-2)/2) = 2, top = round((4-2)/2) = 1 → R = 20,30 ; G = 10,20
    expect(Array.from(t.data as Uint8Array)).toEqual([20, 30, 20, 30, 10, 10, 20, 20, 200, 200, 200, 200]);
  });

  it('resize shorter side then crop; exact resize; grayscale', async () => {
    const a = await loadImageTensor(join(tmp, 'flat.png'), { resize: { shorter: 3 }, centerCrop: [3, 3] });
    expect(a.shape).toEqual([3, 3, 3]);
    expect(Array.from(a.data as Float32Array).map(Math.round)).toEqual([...Array(9).fill(40), ...Array(9).fill(80), ...Array(9).fill(120)]);
    const b = await loadImageTensor(join(tmp, 'flat.png'), { resize: { width: 5, height: 2 }, layout: 'NHWC' });
    expect(b.shape).toEqual([2, 5, 3]);
    const g = await loadImageTensor(join(tmp, 'grey.jpg'), { color: 'gray', dtype: 'int32' });
    expect(g.shape).toEqual([1, 16, 16]);
    for (const v of g.data as Int32Array) expect(Math.abs(v - 100)).toBeLessThanOrEqual(2);
  });

  it('decodes BMP (24-bit bottom-up and 8-bit palette top-down) exactly', async () => {
    const rows = [
      [[255, 0, 0], [0, 255, 0], [0, 0, 255]],
      [[255, 255, 255], [0, 0, 0], [10, 20, 30]],
    ];
    const a = decodeBmp(bmp24(rows));
    expect([a.width, a.height, a.channels]).toEqual([3, 2, 3]);
    expect(Array.from(a.data)).toEqual(rows.flat(2));
    const b = decodeBmp(bmp8([[0, 1], [1, 0]], [[1, 2, 3], [250, 251, 252]]));
    expect(Array.from(b.data)).toEqual([1, 2, 3, 250, 251, 252, 250, 251, 252, 1, 2, 3]);
    writeFileSync(join(tmp, 'x.bmp'), bmp24(rows));
    const t = await loadImageTensor(join(tmp, 'x.bmp'), { dtype: 'uint8', layout: 'NHWC' });
    expect(Array.from(t.data as Uint8Array)).toEqual(rows.flat(2));
    expect(() => decodeBmp(bmp24(rows).subarray(0, 60), 'cut.bmp')).toThrow(/cut\.bmp: cannot decode BMP: truncated/);
  });

  it('a corrupt image names the file', async () => {
    writeFileSync(join(tmp, 'broken.png'), 'not a png at all');
    const err = await loadImageTensor(join(tmp, 'broken.png')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QtuneError);
    expect((err as QtuneError).code).toBe('image_invalid');
    expect((err as QtuneError).message).toContain('broken.png');
  });
});

describe('labels text', () => {
  it('reads file,label with and without header, and one per line', () => {
    expect(parseLabelText('file,label\na.png,3\nb.png,1\n', 'l.csv')).toEqual({ labels: [3, 1], names: ['a.png', 'b.png'] });
    expect(parseLabelText('a.png\t3\r\nb.png\t1', 'l.csv').labels).toEqual([3, 1]);
    expect(parseLabelText('2\n0\n\n1\n', 'l.txt')).toEqual({ labels: [2, 0, 1], names: undefined });
    expect(() => parseLabelText('1\n2\ncat\n', 'l.txt')).toThrow(/l\.txt:3: label 'cat' is not a non-negative integer/);
  });
});

describe('openDataset', () => {
  const model = (dims: (number | string)[], name = 'x', type = 'float32') => ({ inputs: [{ name, dims, type }] });

  it('batches an .npy with a dynamic batch dim, labels aligned, last batch short', async () => {
    await writeNpy(join(tmp, 'x.npy'), { dtype: 'float32', shape: [10, 3], data: f32(30) });
    await writeNpy(join(tmp, 'y.npy'), { dtype: 'int64', shape: [10], data: BigInt64Array.from({ length: 10 }, (_, i) => BigInt(i % 4)) });
    const ds = await openDataset({ inputs: { x: { npy: join(tmp, 'x.npy') } }, labels: { npy: join(tmp, 'y.npy') } }, model(['N', 3]));
    expect(ds.count).toBe(10);
    const bs = await collect(ds, { batchSize: 4 });
    expect(bs.map((b) => b.feeds.x.dims)).toEqual([[4, 3], [4, 3], [2, 3]]);
    expect(Array.from(bs[2].feeds.x.data as Float32Array)).toEqual([24, 25, 26, 27, 28, 29]);
    expect(Array.from(bs[1].labels!)).toEqual([0, 1, 2, 3]);
    expect(bs[2].indices).toEqual([8, 9]);
    const sh = await collect(ds, { batchSize: 3, shuffle: true, seed: 7, limit: 6 });
    const idx = sh.flatMap((b) => b.indices);
    expect(idx).toHaveLength(6);
    expect(new Set(idx).size).toBe(6);
    expect(idx).not.toEqual([0, 1, 2, 3, 4, 5]);
    expect((await collect(ds, { batchSize: 3, shuffle: true, seed: 7, limit: 6 })).flatMap((b) => b.indices)).toEqual(idx);
    // row 0 of the batch holds sample idx[0]
    expect(Array.from(sh[0].feeds.x.data.subarray(0, 3) as Float32Array)).toEqual([idx[0] * 3, idx[0] * 3 + 1, idx[0] * 3 + 2]);
  });

  it('reads an .npy a sample at a time: memory stays flat in the file size, and a truncated file is named when opened', async () => {
    // 256 MB of samples, of which one batch is read
    const big = join(tmp, 'big.npy');
    const samples = 1024, per = 65536;
    const data = new Float32Array(samples * per);
    for (let i = 0; i < samples; i++) data[i * per] = i;
    await writeNpy(big, { dtype: 'float32', shape: [samples, per], data });
    const before = process.memoryUsage().arrayBuffers;
    const ds = await openDataset({ inputs: { x: { npy: big } } }, model(['N', per]));
    const [b] = await collect(ds, { batchSize: 4, limit: 4 });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 ** 2);
    expect([0, 1, 2, 3].map((i) => (b.feeds.x.data as Float32Array)[i * per])).toEqual([0, 1, 2, 3]);
    const [last] = await collect(ds, { batchSize: 1, shuffle: true, seed: 3, limit: 1 });
    expect((last.feeds.x.data as Float32Array)[0]).toBe(last.indices[0]);
    // a header that promises more data than the file holds
    const bytes = readFileSync(join(tmp, 'x.npy'));
    writeFileSync(join(tmp, 'cut.npy'), bytes.subarray(0, bytes.length - 8));
    await expect(openDataset({ inputs: { x: { npy: join(tmp, 'cut.npy') } } }, model(['N', 3]))).rejects.toThrow(/cut\.npy.*truncated data/);
    rmSync(big);
  });

  it('a fixed batch dim wins, is explained, and the last batch is padded; types are converted', async () => {
    const ds = await openDataset({ inputs: { x: { npy: join(tmp, 'x.npy') } } }, model([4, 3], 'x', 'float16'));
    expect(ds.effectiveBatchSize(3)).toBe(4);
    expect(ds.notes.join()).toMatch(/batch size 3 was asked for, but the model's batch dimension is fixed at 4/);
    const bs = await collect(ds, { batchSize: 3 });
    expect(bs.map((b) => [b.indices.length, b.padded, b.feeds.x.dims[0]])).toEqual([[4, 0, 4], [4, 0, 4], [2, 2, 4]]);
    expect(bs[0].feeds.x.data).toBeInstanceOf(Uint16Array);
    expect(bs[0].feeds.x.data[1]).toBe(0x3c00); // 1.0 as half
  });

  it('shape mismatch says expected and found', async () => {
    const err = await openDataset({ inputs: { x: { npy: join(tmp, 'x.npy') } } }, model(['N', 3, 2])).catch((e: unknown) => e);
    expect((err as QtuneError).code).toBe('shape_mismatch');
    expect((err as QtuneError).message).toMatch(/expects \[N, 3, 2\].*have shape \[3\]/);
  });

  it('multi-input: counts must agree; missing inputs are named', async () => {
    await writeNpy(join(tmp, 'z.npy'), { dtype: 'int32', shape: [9, 2], data: new Int32Array(18) });
    const two = { inputs: [{ name: 'x', dims: ['N', 3], type: 'float32' }, { name: 'z', dims: ['N', 2], type: 'int64' }] };
    await expect(openDataset({ inputs: { x: { npy: join(tmp, 'x.npy') }, z: { npy: join(tmp, 'z.npy') } } }, two)).rejects.toThrow(
      /different sample counts: 'x' 10 .*'z' 9/,
    );
    await expect(openDataset({ inputs: { x: { npy: join(tmp, 'x.npy') } } }, two)).rejects.toThrow(/no data for 'z'/);
  });

  it('labels count and content are checked', async () => {
    writeFileSync(join(tmp, 'short.txt'), '1\n2\n');
    await expect(openDataset({ inputs: { x: { npy: join(tmp, 'x.npy') } }, labels: { txt: join(tmp, 'short.txt') } }, model(['N', 3]))).rejects.toThrow(
      /short\.txt has 2 labels but the data has 10 samples/,
    );
    await writeNpy(join(tmp, 'yf.npy'), { dtype: 'float32', shape: [10], data: f32(10, (i) => i + 0.5) });
    await expect(openDataset({ inputs: { x: { npy: join(tmp, 'x.npy') } }, labels: { npy: join(tmp, 'yf.npy') } }, model(['N', 3]))).rejects.toThrow(
      /yf\.npy: label 0 is 0\.5/,
    );
  });

  it('image folder tree: folder labels, csv labels by name, streaming, bad images skipped', async () => {
    const root = join(tmp, 'tree');
    for (const [cls, colors] of [['cat', [10, 20]], ['dog', [30]]] as const) {
      mkdirSync(join(root, cls), { recursive: true });
      for (const c of colors) await png(join(root, cls, `i${c}.png`), 4, 4, () => [c, c, c]);
    }
    const spec = { images: root, preprocess: { dtype: 'uint8' as const } };
    const ds = await openDataset({ inputs: { x: spec }, labels: { folders: true } }, model(['N', 3, 4, 4], 'x', 'uint8'));
    expect(ds.classNames).toEqual(['cat', 'dog']);
    const [b] = await collect(ds, { batchSize: 8 });
    expect(Array.from(b.labels!)).toEqual([0, 0, 1]);
    expect([0, 1, 2].map((i) => b.feeds.x.data[i * 48])).toEqual([10, 20, 30]);

    writeFileSync(join(tmp, 'tree.csv'), 'file,label\ndog/i30.png,7\ncat/i20.png,5\ni10.png,4\n');
    const ds2 = await openDataset({ inputs: { x: spec }, labels: { csv: join(tmp, 'tree.csv') } }, model(['N', 3, 4, 4], 'x', 'uint8'));
    expect(Array.from(ds2.labels!)).toEqual([4, 5, 7]);

    writeFileSync(join(root, 'dog', 'zz.png'), 'garbage');
    const bad = await openDataset({ inputs: { x: spec } }, model(['N', 3, 4, 4], 'x', 'uint8'));
    await expect(collect(bad, { batchSize: 2 })).rejects.toThrow(/zz\.png: cannot decode image/);
    const skip = await openDataset({ inputs: { x: spec } }, { ...model(['N', 3, 4, 4], 'x', 'uint8'), skipBadImages: true });
    const got = await collect(skip, { batchSize: 2 });
    expect(got.flatMap((g) => g.indices)).toEqual([0, 1, 2]);
    expect(skip.skipped.map((s) => s.file)).toEqual([join(root, 'dog', 'zz.png')]);
  });

  it('image size that does not fit the model is explained; empty folder is an error', async () => {
    const ds = await openDataset({ inputs: { x: { images: join(tmp, 'tree', 'cat') } } }, model(['N', 3, 8, 8]));
    await expect(collect(ds, { batchSize: 2 })).rejects.toThrow(/expects \[N, 3, 8, 8\].*\[3, 4, 4\]/);
    mkdirSync(join(tmp, 'empty'));
    await expect(openDataset({ inputs: { x: { images: join(tmp, 'empty') } } }, model(['N', 3, 8, 8]))).rejects.toThrow(/empty holds no images/);
  });

  it('AMCT .bin batches: one batch per file in name order; wrong size names the file', async () => {
    const dir = join(tmp, 'bins');
    mkdirSync(dir);
    writeFileSync(join(dir, 'b1.bin'), new Uint8Array(f32(6, (i) => 100 + i).buffer));
    writeFileSync(join(dir, 'b0.bin'), new Uint8Array(f32(6).buffer));
    const ds = await openDataset({ inputs: { x: { bin: dir, shape: [2, 3], dtype: 'float32' } } }, model(['N', 3]));
    expect(ds.count).toBe(4);
    const bs = await collect(ds, { batchSize: 3 });
    expect(Array.from(bs[1].feeds.x.data as Float32Array)).toEqual([103, 104, 105]);
    writeFileSync(join(dir, 'b2.bin'), new Uint8Array(8));
    await expect(openDataset({ inputs: { x: { bin: dir, shape: [2, 3], dtype: 'float32' } } }, model(['N', 3]))).rejects.toThrow(
      /b2\.bin has 8 bytes, but one batch of shape \[2, 3\] float32 is 24 bytes/,
    );
  });
});

describe('dataset manifest and short form', () => {
  it('resolves paths against the manifest folder', async () => {
    const dir = join(tmp, 'man');
    mkdirSync(dir);
    await writeNpy(join(dir, 'cx.npy'), { dtype: 'uint8', shape: [2, 3], data: new Uint8Array([1, 2, 3, 4, 5, 6]) });
    writeFileSync(join(dir, 'd.json'), JSON.stringify({ inputs: { input: { npy: 'cx.npy' } }, labels: { txt: 'l.txt' } }));
    const desc = await loadDatasetManifest(join(dir, 'd.json'));
    expect(desc).toEqual({ inputs: { input: { npy: join(dir, 'cx.npy') } }, labels: { txt: join(dir, 'l.txt') } });
  });

  it('invalid manifests name the field', () => {
    expect(() => validateDatasetDescription({ inputs: { x: { npy: 'a.npy', extra: 1 } } }, 'd.json')).toThrow(/d\.json: .*inputs\.x/);
    expect(() => validateDatasetDescription({ inputs: { x: { images: 'i/', preprocess: { layout: 'CHW' } } } })).toThrow(/inputs\.x\.preprocess\.layout/);
    expect(() => validateDatasetDescription({})).toThrow(/dataset description is invalid/);
  });

  it('names the missing field of the source kind given, not of the first kind in the schema', () => {
    expect(() => validateDatasetDescription({ inputs: { x: { npz: 'a.npz' } } })).toThrow(/at inputs\.x: missing field 'key'/);
    expect(() => validateDatasetDescription({ inputs: { x: { bin: 'b/', dtype: 'uint8' } } })).toThrow(/at inputs\.x: missing field 'shape'/);
    expect(() => validateDatasetDescription({ inputs: { x: { npy: 'a.npy' } }, labels: { npz: 'l.npz' } })).toThrow(/at labels: missing field 'key'/);
  });

  it('short form refuses settings its kind of data would ignore, and a shape for another input', async () => {
    const x = join(tmp, 'x.npy');
    await expect(datasetFromShortForm({ data: x, inputName: 'in', preprocess: { scale: 0.5 } })).rejects.toThrow(/image preprocessing \(scale\) applies only to image folders/);
    await expect(datasetFromShortForm({ data: x, inputName: 'in', inputShape: [2, 3] })).rejects.toThrow(/applies only to folders of \.bin batches/);
    await expect(datasetFromShortForm({ data: join(tmp, 'bins'), inputName: 'in', inputShape: [2, 3], inputShapeFor: 'other' })).rejects.toThrow(
      /names the input 'other', but the data feeds the model's input 'in'/,
    );
    const bin = await datasetFromShortForm({ data: join(tmp, 'bins'), inputName: 'in', inputShape: [2, 3], inputShapeFor: 'in' });
    expect(bin.inputs.in).toEqual({ bin: join(tmp, 'bins'), shape: [2, 3], dtype: 'float32' });
  });

  it('short form decides by extension and folder contents', async () => {
    expect(await datasetFromShortForm({ data: 'x.npy', labels: 'y.npy', inputName: 'in', baseDir: tmp })).toEqual({
      inputs: { in: { npy: join(tmp, 'x.npy') } },
      labels: { npy: join(tmp, 'y.npy') },
    });
    expect(await datasetFromShortForm({ data: join(tmp, 'tree'), inputName: 'in' })).toEqual({
      inputs: { in: { images: join(tmp, 'tree') } },
      labels: { folders: true },
    });
    await expect(datasetFromShortForm({ data: join(tmp, 'bins'), inputName: 'in' })).rejects.toThrow(/give the shape of one batch/);
    const bin = await datasetFromShortForm({ data: join(tmp, 'bins'), inputName: 'in', inputShape: [2, 3] });
    expect(bin.inputs.in).toEqual({ bin: join(tmp, 'bins'), shape: [2, 3], dtype: 'float32' });
  });
});
