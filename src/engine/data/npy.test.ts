import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QtuneError } from '../../shared/errors';
import { encodeNpy, halfToFloat, parseNpy, readNpy, readNpz, toFloat32, writeNpy, writeNpz, type NdArray } from './npy';

// Files written by numpy itself (test/fixtures/datasets/npy/make.py): arange(6).reshape(2, 3), minus 2 for signed/float types.
const dir = join(process.cwd(), 'test/fixtures/datasets/npy');
const signed = [-2, -1, 0, 1, 2, 3];
const unsigned = [0, 1, 2, 3, 4, 5];

describe('parseNpy / readNpy', () => {
  it.each([
    ['float32', Float32Array, signed],
    ['float64', Float64Array, signed],
    ['int8', Int8Array, signed],
    ['int32', Int32Array, signed],
    ['uint8', Uint8Array, unsigned],
  ] as const)('reads numpy %s', async (dtype, Ctor, values) => {
    const arr = await readNpy(join(dir, `${dtype}.npy`));
    expect(arr.dtype).toBe(dtype);
    expect(arr.shape).toEqual([2, 3]);
    expect(arr.data).toBeInstanceOf(Ctor);
    expect(Array.from(arr.data as ArrayLike<number>)).toEqual(values);
  });

  it('reads int64 as BigInt64Array', async () => {
    const arr = await readNpy(join(dir, 'int64.npy'));
    expect(arr.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(arr.data as BigInt64Array)).toEqual(signed.map(BigInt));
    expect(Array.from(toFloat32(arr))).toEqual(signed);
  });

  it('reads float16 bits and converts them', async () => {
    const arr = await readNpy(join(dir, 'float16.npy'));
    expect(arr.dtype).toBe('float16');
    expect(arr.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(toFloat32(arr))).toEqual(signed);
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0x0001)).toBeCloseTo(5.96e-8, 10);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
  });

  it('reads bool as 0/1 bytes', async () => {
    const arr = await readNpy(join(dir, 'bool.npy'));
    expect(arr.dtype).toBe('bool');
    expect(Array.from(arr.data as Uint8Array)).toEqual([0, 1, 1, 1, 1, 1]);
  });

  it('reads version 2 and 3 headers and 0-d arrays', async () => {
    for (const v of ['v2', 'v3']) {
      const arr = await readNpy(join(dir, `${v}.npy`));
      expect(arr.shape).toEqual([2, 3]);
      expect(Array.from(arr.data as Float32Array)).toEqual(unsigned);
    }
    const scalar = await readNpy(join(dir, 'scalar.npy'));
    expect(scalar.shape).toEqual([]);
    expect(Array.from(scalar.data as Float32Array)).toEqual([2.5]);
  });

  it('refuses Fortran order, big-endian and unsupported dtypes, naming the file', async () => {
    const cases: [string, RegExp][] = [
      ['fortran.npy', /fortran\.npy: Fortran-order/],
      ['bigendian.npy', /bigendian\.npy: big-endian dtype '>f4'/],
      ['complex.npy', /complex\.npy: unsupported dtype '<c8'/],
    ];
    for (const [name, re] of cases) {
      const err = await readNpy(join(dir, name)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QtuneError);
      expect((err as QtuneError).message).toMatch(re);
      expect((err as QtuneError).details.file).toBe(join(dir, name));
    }
  });

  it('refuses garbage and truncated files', () => {
    expect(() => parseNpy(new TextEncoder().encode('hello world, not numpy'), 'x.npy')).toThrow(/x\.npy: not a \.npy file/);
    const good = readFileSync(join(dir, 'float32.npy'));
    expect(() => parseNpy(good.subarray(0, good.length - 4), 'cut.npy')).toThrow(/cut\.npy: truncated data/);
  });

  it('a missing file is a clear error', async () => {
    await expect(readNpy(join(dir, 'nope.npy'))).rejects.toThrow(/cannot read .*nope\.npy/);
  });
});

describe('encodeNpy / writeNpy', () => {
  it('writes byte-for-byte what numpy writes', async () => {
    for (const dtype of ['float32', 'int64', 'uint8', 'float16']) {
      const bytes = readFileSync(join(dir, `${dtype}.npy`));
      expect(Buffer.from(encodeNpy(parseNpy(bytes)))).toEqual(bytes);
    }
  });

  it('round-trips through a file, 1-d shapes included', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'qtune-npy-'));
    const arr: NdArray = { dtype: 'int32', shape: [4], data: new Int32Array([7, -1, 0, 3]) };
    await writeNpy(join(tmp, 'a.npy'), arr);
    expect(await readNpy(join(tmp, 'a.npy'))).toEqual(arr);
  });

  it('refuses data that does not fit the shape or dtype', () => {
    expect(() => encodeNpy({ dtype: 'float32', shape: [3], data: new Float32Array(2) })).toThrow(/2 elements but shape \(3\)/);
    expect(() => encodeNpy({ dtype: 'int32', shape: [2], data: new Float32Array(2) })).toThrow(/does not match dtype int32/);
  });
});

describe('npz', () => {
  it.each(['stored.npz', 'deflated.npz'])('reads numpy %s', async (name) => {
    const map = await readNpz(join(dir, name));
    expect([...map.keys()].sort()).toEqual(['x', 'y']);
    expect(map.get('x')!.shape).toEqual([2, 3]);
    expect(Array.from(map.get('x')!.data as Float32Array)).toEqual(unsigned);
    expect(Array.from(map.get('y')!.data as BigInt64Array)).toEqual([1n, 0n]);
  });

  it('round-trips compressed and not', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'qtune-npz-'));
    const x: NdArray = { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) };
    for (const compress of [false, true]) {
      const p = join(tmp, `r${compress}.npz`);
      await writeNpz(p, { x }, compress);
      expect((await readNpz(p)).get('x')).toEqual(x);
    }
  });

  it('a non-zip file is a clear error', async () => {
    await expect(readNpz(join(dir, 'float32.npy'))).rejects.toThrow(/float32\.npy: not a valid \.npz/);
  });
});
