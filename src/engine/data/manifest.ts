// Dataset descriptions: validating the JSON manifest, resolving its relative
// paths against the manifest's folder, and building a description from the
// CLI's short form (`--data x.npy --labels y.npy`) by looking at the files.

import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { QtuneError } from '../../shared/errors';
import {
  DATASET_SCHEMA,
  type DatasetDescription,
  type ImagePreprocess,
  type InputSource,
  type LabelSource,
  type SampleDtype,
  type SizePolicy,
} from '../../shared/dataset-schema';
import { IMAGE_EXTENSIONS } from './image';
import { readNpz } from './npy';

const ajv = new Ajv({ allErrors: true });
const validate = ajv.compile<DatasetDescription>(DATASET_SCHEMA);

// The field that says which kind of source an object is, in the order of the schema's oneOf branches.
const INPUT_KINDS = ['npy', 'npz', 'images', 'bin', 'constant'];
const LABEL_KINDS = ['npy', 'npz', 'csv', 'txt', 'folders'];

/**
 * A source object failed every branch of a oneOf; the errors that matter are
 * those of the branch its kind field selects (an npz source without "key" is
 * missing "key", not "npy").
 */
function errorsOfChosenBranch(errors: ErrorObject[], value: unknown): ErrorObject[] {
  return errors.filter((e) => {
    const m = /^#\/properties\/(inputs|labels)\/(?:additionalProperties\/)?oneOf\/(\d+)\//.exec(e.schemaPath);
    if (!m) return true;
    const parts = e.instancePath.split('/').slice(1);
    const obj = m[1] === 'inputs' ? (value as { inputs?: Record<string, unknown> }).inputs?.[parts[1]] : (value as { labels?: unknown }).labels;
    if (typeof obj !== 'object' || obj === null) return true;
    const kinds = m[1] === 'inputs' ? INPUT_KINDS : LABEL_KINDS;
    const chosen = kinds.findIndex((k) => k in obj);
    return chosen < 0 || chosen === Number(m[2]);
  });
}

/** Checks a parsed manifest against the schema; errors name the JSON path. */
export function validateDatasetDescription(value: unknown, file?: string): DatasetDescription {
  if (validate(value)) return value;
  const errors = errorsOfChosenBranch(validate.errors ?? [], value);
  // oneOf failures repeat per branch; the most specific (deepest) error says most.
  const best = [...errors].sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
  const path = best?.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(root)';
  const detail =
    best?.keyword === 'additionalProperties'
      ? `unknown field '${(best.params as { additionalProperty: string }).additionalProperty}'`
      : best?.keyword === 'required'
        ? `missing field '${(best.params as { missingProperty: string }).missingProperty}'`
        : best?.message;
  throw new QtuneError('dataset_invalid', `${file ? `${file}: ` : ''}dataset description is invalid at ${path}: ${detail}`, {
    file,
    path,
    hint: 'inputs.<name> takes one of {npy}, {npz, key}, {images, preprocess?, sizes?}, {bin, shape, dtype}, {constant, shape?, dtype?}; labels one of {npy}, {npz, key}, {csv}, {txt}, {folders: true}',
  });
}

const abs = (base: string, p: string): string => (isAbsolute(p) ? p : resolve(base, p));

/** Makes every path of a description absolute, relative to `baseDir`. */
export function resolveDescription(desc: DatasetDescription, baseDir: string): DatasetDescription {
  const inputs: Record<string, InputSource> = {};
  for (const [name, src] of Object.entries(desc.inputs)) {
    if ('npy' in src) inputs[name] = { npy: abs(baseDir, src.npy) };
    else if ('npz' in src) inputs[name] = { npz: abs(baseDir, src.npz), key: src.key };
    else if ('images' in src) inputs[name] = { ...src, images: abs(baseDir, src.images) };
    else if ('bin' in src) inputs[name] = { ...src, bin: abs(baseDir, src.bin) };
    else inputs[name] = { ...src };
  }
  let labels: LabelSource | undefined;
  const l = desc.labels;
  if (l) {
    if ('npy' in l) labels = { npy: abs(baseDir, l.npy) };
    else if ('npz' in l) labels = { npz: abs(baseDir, l.npz), key: l.key };
    else if ('csv' in l) labels = { csv: abs(baseDir, l.csv) };
    else if ('txt' in l) labels = { txt: abs(baseDir, l.txt) };
    else labels = l;
  }
  return labels ? { inputs, labels } : { inputs };
}

/** Reads, validates and resolves a dataset manifest file. */
export async function loadDatasetManifest(path: string): Promise<DatasetDescription> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new QtuneError('file_not_readable', `cannot read ${path}: ${(err as Error).message}`, { file: path });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new QtuneError('dataset_invalid', `${path} is not valid JSON: ${(err as Error).message}`, { file: path });
  }
  return resolveDescription(validateDatasetDescription(json, path), dirname(resolve(path)));
}

export interface ShortForm {
  /** a .npy, .npz (optionally `file.npz:key`), an image folder, a folder of .bin batches, or a .json manifest */
  data: string;
  /** .npy, .npz[:key], .csv, .txt, or "folders"; omitted for a class-folder image tree means "folders" */
  labels?: string;
  /** the model input the data feeds */
  inputName: string;
  preprocess?: ImagePreprocess;
  /** image folders: what to do with images of different sizes (see sizes.ts) */
  sizes?: SizePolicy;
  /** for .bin batches: the shape of one batch file */
  inputShape?: number[];
  /** the model input `inputShape` was given for (AMCT's "name:dims"); must be `inputName` */
  inputShapeFor?: string;
  /** for .bin batches: element type (default float32) */
  dataTypes?: SampleDtype;
  /** relative paths resolve here; default the working directory */
  baseDir?: string;
}

function splitKey(p: string): { path: string; key?: string } {
  const m = /^(.*\.npz):([^\\/:]+)$/i.exec(p);
  return m ? { path: m[1], key: m[2] } : { path: p };
}

async function npzKey(path: string, key: string | undefined, role: string): Promise<string> {
  if (key) return key;
  const keys = [...(await readNpz(path)).keys()];
  if (keys.length === 1) return keys[0];
  const preferred = role === 'labels' ? ['y', 'labels', 'label'] : ['x', 'data', 'inputs', 'input'];
  const hit = preferred.find((k) => keys.includes(k));
  if (hit) return hit;
  throw new QtuneError('dataset_invalid', `${path} holds several arrays (${keys.join(', ')}); say which with ${path}:<key>`, { file: path });
}

function kindOf(src: InputSource): string {
  if ('npy' in src) return 'a .npy array';
  if ('npz' in src) return 'an .npz array';
  if ('images' in src) return 'an image folder';
  if ('constant' in src) return 'a constant';
  return 'a folder of .bin batches';
}

/** Builds a description (absolute paths) from the CLI's flags, deciding by extension and folder contents. */
export async function datasetFromShortForm(form: ShortForm): Promise<DatasetDescription> {
  const base = form.baseDir ?? process.cwd();
  if (form.inputShapeFor !== undefined && form.inputShapeFor !== form.inputName) {
    throw new QtuneError('dataset_invalid', `the input shape names the input '${form.inputShapeFor}', but the data feeds the model's input '${form.inputName}'`, {
      path: 'input_shape',
      hint: `write the shape as "${form.inputName}:${form.inputShape?.join(',') ?? 'd0,d1,...'}"`,
    });
  }
  const { path: rawPath, key } = splitKey(form.data);
  const data = abs(base, rawPath);
  const ext = extname(data).toLowerCase();
  if (ext === '.json') {
    if ((form.preprocess && Object.keys(form.preprocess).length) || form.sizes || form.inputShape || form.dataTypes) {
      throw new QtuneError('dataset_invalid', `${data} is a dataset manifest: give preprocessing, sizes, shapes and types in it (inputs.<name>.preprocess, sizes, shape, dtype), not as options`, {
        file: data,
        path: 'preprocess',
      });
    }
    return loadDatasetManifest(data);
  }
  let info;
  try {
    info = await stat(data);
  } catch {
    throw new QtuneError('file_not_found', `${data}: no such file or folder`, { file: data });
  }
  let input: InputSource;
  let classTree = false;
  if (info.isDirectory()) {
    const entries = await readdir(data, { withFileTypes: true });
    const files = entries.filter((e) => e.isFile()).map((e) => e.name.toLowerCase());
    if (files.some((f) => f.endsWith('.bin'))) {
      if (!form.inputShape) {
        throw new QtuneError('dataset_invalid', `${data} holds .bin batches; give the shape of one batch with --input_shape (e.g. --input_shape "${form.inputName}:1,3,224,224"), or use a manifest {bin, shape, dtype}`, { file: data });
      }
      input = { bin: data, shape: form.inputShape, dtype: form.dataTypes ?? 'float32' };
    } else if (files.some((f) => IMAGE_EXTENSIONS.includes(extname(f)))) {
      input = { images: data, ...(form.preprocess ? { preprocess: form.preprocess } : {}), ...(form.sizes ? { sizes: form.sizes } : {}) };
    } else if (entries.some((e) => e.isDirectory() && !e.name.startsWith('.'))) {
      input = { images: data, ...(form.preprocess ? { preprocess: form.preprocess } : {}), ...(form.sizes ? { sizes: form.sizes } : {}) };
      classTree = true;
    } else {
      throw new QtuneError('data_empty', `${data} holds no images (${IMAGE_EXTENSIONS.join(', ')}) and no .bin batches`, { file: data });
    }
  } else if (ext === '.npy') {
    input = { npy: data };
  } else if (ext === '.npz') {
    input = { npz: data, key: await npzKey(data, key, 'data') };
  } else {
    throw new QtuneError('dataset_invalid', `${data}: cannot tell what kind of data this is; use .npy, .npz, an image folder, a folder of .bin files, or a .json manifest`, {
      file: data,
    });
  }
  // Settings that only one kind of data uses are refused for the others rather than silently dropped.
  if (!('images' in input) && form.preprocess && Object.keys(form.preprocess).length) {
    const fields = Object.keys(form.preprocess).map((k) => (k === 'centerCrop' ? 'crop' : k));
    throw new QtuneError('dataset_invalid', `image preprocessing (${fields.join(', ')}) applies only to image folders, but ${data} is ${kindOf(input)}; store the values already preprocessed`, {
      file: data,
      path: 'preprocess',
    });
  }
  if (!('images' in input) && form.sizes) {
    throw new QtuneError('dataset_invalid', `a size policy (--sizes) applies only to image folders, but ${data} is ${kindOf(input)}`, { file: data, path: 'sizes' });
  }
  if (!('bin' in input) && (form.inputShape || form.dataTypes)) {
    throw new QtuneError('dataset_invalid', `an input shape / data type applies only to folders of .bin batches, but ${data} is ${kindOf(input)}`, { file: data, path: 'input_shape' });
  }
  const desc: DatasetDescription = { inputs: { [form.inputName]: input } };
  if (form.labels === 'folders' || (!form.labels && classTree)) {
    desc.labels = { folders: true };
  } else if (form.labels) {
    const { path: lp, key: lk } = splitKey(form.labels);
    const labelsPath = abs(base, lp);
    const lext = extname(labelsPath).toLowerCase();
    if (lext === '.npy') desc.labels = { npy: labelsPath };
    else if (lext === '.npz') desc.labels = { npz: labelsPath, key: await npzKey(labelsPath, lk, 'labels') };
    else if (lext === '.csv') desc.labels = { csv: labelsPath };
    else if (lext === '.txt' || lext === '') desc.labels = { txt: labelsPath };
    else throw new QtuneError('dataset_invalid', `${labelsPath}: labels must be .npy, .npz, .csv, .txt, or "folders"`, { file: labelsPath });
  }
  return desc;
}

