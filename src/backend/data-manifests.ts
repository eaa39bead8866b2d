// The project's data as dataset manifests, for what plain paths cannot say
// (set in the new-project form's advanced section): a size policy for images
// of different sizes, and constant values for model inputs that are not data.
// The manifests are written into the project folder and the project refers to
// them, so every run, analysis and tuning reads the data the same way.

import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { QtuneError } from '../shared/errors';
import type { DatasetDescription, InputSource, LabelSource } from '../shared/dataset-schema';
import type { ProjectDataOptions } from '../shared/project';
import { writeFileAtomic } from './atomic-file';

export const DATA_MANIFESTS = { calibration: 'calibration-data.json', evaluation: 'evaluation-data.json' } as const;

/** `file.npz:key` → path and key */
function splitKey(p: string): { path: string; key?: string } {
  const m = /^(.*\.npz):([^\\/:]+)$/i.exec(p);
  return m ? { path: m[1], key: m[2] } : { path: p };
}

async function isDirectory(path: string, what: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    throw new QtuneError('file_not_found', `${what}: ${path}: no such file or folder`, { file: path });
  }
}

async function dataSource(path: string, opts: ProjectDataOptions, what: string): Promise<InputSource> {
  const { path: file, key } = splitKey(resolve(path));
  const ext = extname(file).toLowerCase();
  if (await isDirectory(file, what)) return { images: file, ...(opts.sizes ? { sizes: opts.sizes } : {}) };
  if (opts.sizes) throw new QtuneError('dataset_invalid', `${what}: a size policy applies only to image folders, but ${file} is a file`, { file, path: 'sizes' });
  if (ext === '.npy') return { npy: file };
  if (ext === '.npz') {
    if (!key) throw new QtuneError('dataset_invalid', `${what}: name the array of ${file} as ${file}:<key>`, { file });
    return { npz: file, key };
  }
  if (ext === '.json') {
    throw new QtuneError('dataset_invalid', `${what}: ${file} is a dataset manifest already; write the size policy and constant inputs in it (inputs.<name>.sizes, {constant, dtype, shape})`, { file });
  }
  throw new QtuneError('dataset_invalid', `${what}: ${file}: use a .npy, .npz:key or an image folder with advanced data settings`, { file });
}

async function labelSource(labels: string | undefined, data: InputSource): Promise<LabelSource | undefined> {
  if (!labels) {
    // an image folder of class folders labels itself, as it does without a manifest
    if (!('images' in data)) return undefined;
    const entries = await readdir(data.images, { withFileTypes: true });
    const classTree = !entries.some((e) => e.isFile() && !e.name.startsWith('.') && extname(e.name) !== '.csv') && entries.some((e) => e.isDirectory() && !e.name.startsWith('.'));
    return classTree ? { folders: true } : undefined;
  }
  if (labels === 'folders') return { folders: true };
  const { path: file, key } = splitKey(resolve(labels));
  const ext = extname(file).toLowerCase();
  if (ext === '.npy') return { npy: file };
  if (ext === '.npz' && key) return { npz: file, key };
  if (ext === '.csv') return { csv: file };
  if (ext === '.txt' || ext === '') return { txt: file };
  throw new QtuneError('dataset_invalid', `labels: ${file} must be .npy, .npz:key, .csv, .txt, or "folders"`, { file });
}

/** The manifest for one data path: its source for the data input, the constants, and labels (evaluation). */
export async function describeProjectData(path: string, opts: ProjectDataOptions, what: string, labels?: string): Promise<DatasetDescription> {
  const data = await dataSource(path, opts, what);
  const inputs: Record<string, InputSource> = { [opts.dataInput]: data };
  for (const [name, c] of Object.entries(opts.constants ?? {})) {
    if (name === opts.dataInput) throw new QtuneError('dataset_invalid', `input '${name}' is fed by the ${what}; it cannot also be a constant`, { path: `constants.${name}` });
    inputs[name] = { constant: c.constant, ...(c.dtype ? { dtype: c.dtype } : {}), ...(c.shape ? { shape: c.shape } : {}) };
  }
  const labelSrc = await labelSource(labels, data);
  return labelSrc ? { inputs, labels: labelSrc } : { inputs };
}

/** Writes the calibration and evaluation manifests into the project folder; returns their paths. */
export async function writeDataManifests(
  projectDir: string, init: { calibration: string; evaluation: string; labels?: string; dataOptions: ProjectDataOptions },
): Promise<{ calibration: string; evaluation: string }> {
  const out = { calibration: join(projectDir, DATA_MANIFESTS.calibration), evaluation: join(projectDir, DATA_MANIFESTS.evaluation) };
  const calibration = await describeProjectData(init.calibration, init.dataOptions, 'calibration data');
  const evaluation = await describeProjectData(init.evaluation, init.dataOptions, 'evaluation data', init.labels);
  await writeFileAtomic(out.calibration, `${JSON.stringify(calibration, null, 2)}\n`);
  await writeFileAtomic(out.evaluation, `${JSON.stringify(evaluation, null, 2)}\n`);
  return out;
}
