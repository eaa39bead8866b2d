// Sample sources: one per model input. Each knows how many samples it holds
// and reads one sample at a time, so image folders are decoded as batches are
// asked for, never all up front.

import { open, readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { QtuneError } from '../../shared/errors';
import type { ImagePreprocess, InputSource, SizePolicy } from '../../shared/dataset-schema';
import { allocData, convertData } from './cast';
import { checkCropFitsResize, IMAGE_EXTENSIONS, loadImageTensor } from './image';
import { checkSizePolicy, letterboxOf, oneSamplePerRun } from './sizes';
import { dtypeByteSize, readNpyLayout, readNpz, shapeSize, type NdArray, type NdData, type NdDtype } from './npy';

export interface Sample {
  shape: number[];
  dtype: NdDtype;
  data: NdData;
}

export interface SampleSource {
  /** for messages: "calib_x.npy", "images in imgs/" */
  describe: string;
  count: number;
  /** shape of every sample, or null when it is only known per sample (images without a fixed output size) */
  sampleShape: number[] | null;
  dtype: NdDtype;
  read(index: number): Promise<Sample>;
  /** image sources: the file of each sample (for label lookup and error messages) */
  files?: string[];
  /** images of different sizes run one per inference, each at its own size (sizes "batch-of-one") */
  onePerRun?: boolean;
  /** the same sample at every index (manifest `constant`): it takes its count from the other inputs */
  constant?: boolean;
  /** image sources: the root folder, and class folders when laid out one folder per class */
  root?: string;
  classNames?: string[];
  classOf?: Int32Array;
}

function sliceSample(arr: NdArray, index: number): NdData {
  const per = shapeSize(arr.shape.slice(1));
  return arr.data.subarray(index * per, (index + 1) * per) as NdData;
}

function arraySource(arr: NdArray, describe: string, file: string): SampleSource {
  if (arr.shape.length < 1) {
    throw new QtuneError('data_invalid', `${file}: a 0-d array holds no samples; samples go along the first axis`, { file });
  }
  const sampleShape = arr.shape.slice(1);
  return {
    describe,
    count: arr.shape[0],
    sampleShape,
    dtype: arr.dtype,
    read: async (i) => ({ shape: sampleShape, dtype: arr.dtype, data: sliceSample(arr, i) }),
  };
}

/**
 * A .npy file read one sample at a time: its data is never held whole, so
 * memory does not grow with the file (a thousand 224×224 images are 600 MB)
 * and only the samples a run uses are read.
 */
async function npyFileSource(path: string): Promise<SampleSource> {
  const { dtype, shape, dataStart } = await readNpyLayout(path);
  if (shape.length < 1) {
    throw new QtuneError('data_invalid', `${path}: a 0-d array holds no samples; samples go along the first axis`, { file: path });
  }
  const sampleShape = shape.slice(1);
  const per = shapeSize(sampleShape);
  const bytesPer = per * dtypeByteSize(dtype);
  return {
    describe: path,
    count: shape[0],
    sampleShape,
    dtype,
    read: async (i) => {
      const data = allocData(dtype, per);
      try {
        const fh = await open(path, 'r');
        try {
          const { bytesRead } = await fh.read(new Uint8Array(data.buffer), 0, bytesPer, dataStart + i * bytesPer);
          if (bytesRead < bytesPer) throw new Error(`sample ${i} ends past the end of the file (it changed since it was opened)`);
        } finally {
          await fh.close();
        }
      } catch (err) {
        throw new QtuneError('file_not_readable', `cannot read ${path}: ${(err as Error).message}`, { file: path });
      }
      return { shape: sampleShape, dtype, data };
    },
  };
}

async function npzArray(path: string, key: string): Promise<NdArray> {
  const map = await readNpz(path);
  const arr = map.get(key);
  if (!arr) {
    throw new QtuneError('data_invalid', `${path} has no array '${key}' (it has: ${[...map.keys()].join(', ') || 'none'})`, {
      file: path,
      path: 'key',
    });
  }
  return arr;
}

async function listDir(dir: string): Promise<{ name: string; isDir: boolean }[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => !e.name.startsWith('.'))
      .map((e) => ({ name: e.name, isDir: e.isDirectory() }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (err) {
    throw new QtuneError('file_not_readable', `cannot read folder ${dir}: ${(err as Error).message}`, { file: dir });
  }
}

const isImage = (name: string): boolean => IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());

/**
 * Lists the images of a folder: either flat, or one sub-folder per class
 * (ImageNet layout; classes are the sorted folder names). Sorted by name so
 * the order, and so labels files written in that order, are stable.
 */
export async function listImages(root: string): Promise<{ files: string[]; classNames?: string[]; classOf?: Int32Array }> {
  const entries = await listDir(root);
  const flat = entries.filter((e) => !e.isDir && isImage(e.name)).map((e) => join(root, e.name));
  const dirs = entries.filter((e) => e.isDir);
  if (flat.length > 0 || dirs.length === 0) {
    if (flat.length === 0) {
      throw new QtuneError('data_empty', `${root} holds no images (looked for ${IMAGE_EXTENSIONS.join(', ')})`, { file: root });
    }
    return { files: flat };
  }
  const files: string[] = [];
  const classes: number[] = [];
  const classNames = dirs.map((d) => d.name);
  for (let c = 0; c < classNames.length; c++) {
    for (const e of await listDir(join(root, classNames[c]))) {
      if (!e.isDir && isImage(e.name)) {
        files.push(join(root, classNames[c], e.name));
        classes.push(c);
      }
    }
  }
  if (files.length === 0) {
    throw new QtuneError('data_empty', `${root} holds no images in its class folders (${classNames.join(', ')})`, { file: root });
  }
  return { files, classNames, classOf: Int32Array.from(classes) };
}

/** The fixed output shape an image pipeline produces, when resize/crop pin it down. */
function fixedImageShape(pp: ImagePreprocess, sizes?: SizePolicy): number[] | null {
  const c = pp.color === 'gray' ? 1 : 3;
  let hw: [number, number] | null = null;
  const box = letterboxOf(sizes);
  if (box) hw = [box.height, box.width];
  else if (pp.centerCrop) hw = [pp.centerCrop[0], pp.centerCrop[1]];
  else if (pp.resize && 'width' in pp.resize) hw = [pp.resize.height, pp.resize.width];
  if (!hw) return null;
  return (pp.layout ?? 'NCHW') === 'NCHW' ? [c, hw[0], hw[1]] : [hw[0], hw[1], c];
}

async function imageSource(root: string, pp: ImagePreprocess = {}, sizes?: SizePolicy, name = 'input'): Promise<SampleSource> {
  checkCropFitsResize(pp);
  checkSizePolicy(sizes, pp, `inputs.${name}.sizes`);
  const { files, classNames, classOf } = await listImages(root);
  const box = letterboxOf(sizes);
  return {
    describe: `images in ${root}`,
    count: files.length,
    sampleShape: fixedImageShape(pp, sizes),
    ...(oneSamplePerRun(sizes) ? { onePerRun: true } : {}),
    dtype: pp.dtype ?? 'float32',
    files,
    root,
    classNames,
    classOf,
    read: (i) => loadImageTensor(files[i], pp, box),
  };
}

/** AMCT-style raw batches: every .bin file in the folder is one batch of `shape`, files in name order. */
async function binSource(dir: string, shape: number[], dtype: NdDtype): Promise<SampleSource> {
  const files = (await listDir(dir)).filter((e) => !e.isDir && extname(e.name).toLowerCase() === '.bin').map((e) => join(dir, e.name));
  if (files.length === 0) throw new QtuneError('data_empty', `${dir} holds no .bin files`, { file: dir });
  const batchBytes = shapeSize(shape) * dtypeByteSize(dtype);
  for (const f of files) {
    const size = (await stat(f)).size;
    if (size !== batchBytes) {
      throw new QtuneError(
        'data_invalid',
        `${f} has ${size} bytes, but one batch of shape [${shape.join(', ')}] ${dtype} is ${batchBytes} bytes`,
        { file: f, hint: 'every .bin file must hold exactly one batch of the declared shape and dtype' },
      );
    }
  }
  const perFile = shape[0];
  const sampleShape = shape.slice(1);
  const sampleElems = shapeSize(sampleShape);
  // Reading goes in order, so keep the last file's contents.
  let cached: { index: number; data: NdData } | null = null;
  const loadFile = async (fi: number): Promise<NdData> => {
    if (cached?.index === fi) return cached.data;
    const bytes = await readFile(files[fi]);
    const data = allocData(dtype, shapeSize(shape));
    new Uint8Array(data.buffer).set(bytes);
    cached = { index: fi, data };
    return data;
  };
  return {
    describe: `.bin batches in ${dir}`,
    count: files.length * perFile,
    sampleShape,
    dtype,
    read: async (i) => {
      const data = await loadFile(Math.floor(i / perFile));
      const j = i % perFile;
      return { shape: sampleShape, dtype, data: data.subarray(j * sampleElems, (j + 1) * sampleElems) as NdData };
    },
  };
}

/**
 * One value for every sample: a scalar (a sample rate), or a filled shape (zeros for an initial state, ones
 * for a mask). Written as float64 unless a dtype is given; the dataset converts it to the model input's type.
 */
function constantSource(value: number, shape: number[], dtype: NdDtype | undefined, name: string): SampleSource {
  const integer = dtype !== undefined && !['float32', 'float64', 'float16'].includes(dtype);
  if (integer && !Number.isInteger(value)) {
    throw new QtuneError('dataset_invalid', `inputs.${name}.constant: ${value} is not an integer, but dtype is ${dtype}`, { path: `inputs.${name}.constant` });
  }
  const type = dtype ?? 'float64';
  const data = convertData(Float64Array.of(value), 'float64', type);
  const filled = allocData(type, shapeSize(shape));
  (filled as { fill(v: number | bigint): void }).fill(data[0]);
  const sample: Sample = { shape, dtype: type, data: filled };
  return {
    describe: `the constant ${value}${shape.length ? ` of shape [${shape.join(', ')}]` : ''}`,
    count: Infinity,
    sampleShape: shape,
    dtype: type,
    constant: true,
    read: async () => sample,
  };
}

/** Opens the source described for one input (`name`, for messages); paths are already absolute. */
export async function openSource(src: InputSource, name = 'input'): Promise<SampleSource> {
  if ('npy' in src) return npyFileSource(src.npy);
  if ('npz' in src) return arraySource(await npzArray(src.npz, src.key), `${src.npz}[${src.key}]`, src.npz);
  if ('images' in src) return imageSource(src.images, src.preprocess, src.sizes, name);
  if ('constant' in src) return constantSource(src.constant, src.shape ?? [], src.dtype, name);
  return binSource(src.bin, src.shape, src.dtype);
}

/** Path of an image relative to the image root, with '/' separators (how labels files name them). */
export function relativeImagePath(root: string, file: string): string {
  return relative(root, file).split(sep).join('/');
}
