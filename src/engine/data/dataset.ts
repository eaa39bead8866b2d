// A dataset bound to a model's inputs: checks that every input has a source,
// that counts and shapes fit, and hands out batches ready to feed ONNX
// Runtime. Samples are read as batches are asked for (images decoded then),
// with the next batch read while the caller works on the current one.

import { QtuneError } from '../../shared/errors';
import { seededRandom } from '../../shared/seeded-random';
import type { DatasetDescription } from '../../shared/dataset-schema';
import { allocData, convertData, dtypeForModelInput } from './cast';
import { loadLabels } from './labels';
import type { NdData, NdDtype } from './npy';
import { openSource, type Sample, type SampleSource } from './sources';
import { SIZES_HINT } from './sizes';
import type { ModelInputSpec } from '../onnx/value-info';

export type { ModelInputSpec } from '../onnx/value-info';

export interface Feed {
  dims: number[];
  type: NdDtype;
  data: NdData;
}

export interface Batch {
  feeds: Record<string, Feed>;
  labels?: Int32Array;
  /** the batch's text labels (a .txt of labels that are not integers): for custom evaluators */
  textLabels?: string[];
  /** dataset indices of the real samples in this batch, in order */
  indices: number[];
  /** rows appended to fill a fixed batch dimension (copies of the last sample); ignore their outputs */
  padded: number;
  /** feeds without a batch axis (constants fed as they are): not to be sliced by sample */
  unbatched?: string[];
}

export interface BatchOptions {
  batchSize: number;
  limit?: number;
  shuffle?: boolean;
  seed?: number;
}

export interface OpenDatasetOptions {
  inputs: readonly ModelInputSpec[];
  /** unreadable images are skipped and listed in `skipped` instead of failing the run */
  skipBadImages?: boolean;
  /** how many samples of a batch are read at once (image decoding); default 8 */
  concurrency?: number;
}

export interface Dataset {
  count: number;
  inputNames: string[];
  labels?: Int32Array;
  /** labels that are text, not class indices (one per sample): only a custom evaluator reads them */
  textLabels?: string[];
  classNames?: string[];
  /** image files, when the first input is an image folder */
  files?: string[];
  skipped: { file: string; reason: string }[];
  notes: string[];
  /** the batch size that will actually be used for a request (a fixed batch dimension wins) */
  effectiveBatchSize(requested: number): number;
  /**
   * Samples per inference for a requested batch size: the effective batch size, or 1 when images run at their
   * own sizes (sizes "batch-of-one"); a batch of N samples then comes as N runs of one.
   */
  runSize(requested: number): number;
  batches(options: BatchOptions): AsyncGenerator<Batch>;
}

const isDynamic = (d: number | string): boolean => typeof d === 'string' || d < 0;
const fmt = (dims: readonly (number | string)[]): string => `[${dims.join(', ')}]`;

interface Binding {
  spec: ModelInputSpec;
  source: SampleSource;
  type: NdDtype;
  /** whether the model input has a leading batch axis that samples stack along */
  batched: boolean;
}

function shapeFits(sample: readonly number[], expected: readonly (number | string)[]): boolean {
  return sample.length === expected.length && expected.every((d, i) => isDynamic(d) || d === sample[i]);
}

/** Decides whether samples stack along a batch axis, or the input has none (one sample per run). */
function bindShape(spec: ModelInputSpec, sampleShape: readonly number[], where: string): boolean {
  if (spec.dims.length === sampleShape.length + 1 && shapeFits(sampleShape, spec.dims.slice(1))) return true;
  if (spec.dims.length === sampleShape.length && shapeFits(sampleShape, spec.dims)) return false;
  throw new QtuneError(
    'shape_mismatch',
    `input '${spec.name}': the model expects ${fmt(spec.dims)} (batch first), but samples from ${where} have shape ${fmt(sampleShape)}, ` +
      `i.e. a batch would be ${fmt(['N', ...sampleShape])}`,
    { path: `inputs.${spec.name}`, hint: 'check the layout (NCHW/NHWC), resize/crop size, or the array saved' },
  );
}

function sampleOrder(count: number, opts: BatchOptions): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  if (opts.shuffle) {
    const rand = seededRandom(opts.seed ?? 0);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
  }
  return opts.limit !== undefined ? order.slice(0, Math.max(0, opts.limit)) : order;
}

/** Pairs description inputs with model inputs; one unnamed-but-obvious pairing (one and one) is allowed with a note. */
function pairInputs(desc: DatasetDescription, inputs: readonly ModelInputSpec[], notes: string[]): [ModelInputSpec, string][] {
  const given = Object.keys(desc.inputs);
  if (inputs.length === 1 && given.length === 1 && given[0] !== inputs[0].name) {
    notes.push(`the dataset's input '${given[0]}' feeds the model's only input '${inputs[0].name}'`);
    return [[inputs[0], given[0]]];
  }
  const missing = inputs.filter((i) => !(i.name in desc.inputs)).map((i) => i.name);
  const extra = given.filter((g) => !inputs.some((i) => i.name === g));
  if (missing.length || extra.length) {
    throw new QtuneError(
      'inputs_mismatch',
      `the dataset does not match the model's inputs: ` +
        [missing.length ? `no data for ${missing.map((m) => `'${m}'`).join(', ')}` : '', extra.length ? `unknown input(s) ${extra.map((m) => `'${m}'`).join(', ')}` : '']
          .filter(Boolean)
          .join('; ') +
        ` (model inputs: ${inputs.map((i) => i.name).join(', ')})`,
      { path: 'inputs' },
    );
  }
  return inputs.map((i) => [i, i.name]);
}

/** Opens a dataset whose paths are already absolute (see resolveDescription / loadDatasetManifest). */
export async function openDataset(desc: DatasetDescription, options: OpenDatasetOptions): Promise<Dataset> {
  const notes: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  const bindings: Binding[] = [];
  for (const [spec, key] of pairInputs(desc, options.inputs, notes)) {
    const source = await openSource(desc.inputs[key], key);
    const type = dtypeForModelInput(spec.type, spec.name);
    const batched = source.sampleShape ? bindShape(spec, source.sampleShape, source.describe) : spec.dims.length > 0;
    bindings.push({ spec, source, type, batched });
  }
  // constant inputs repeat for as many samples as the data inputs hold
  const data = bindings.filter((b) => !b.source.constant);
  if (data.length === 0) {
    throw new QtuneError('dataset_invalid', `every input of the dataset is a constant (${bindings.map((b) => `'${b.spec.name}'`).join(', ')}); at least one must come from data, which says how many samples there are`, { path: 'inputs' });
  }
  const counts = data.map((b) => b.source.count);
  if (counts.some((c) => c !== counts[0])) {
    throw new QtuneError(
      'count_mismatch',
      `inputs have different sample counts: ${data.map((b) => `'${b.spec.name}' ${b.source.count} (${b.source.describe})`).join(', ')}`,
      { path: 'inputs' },
    );
  }
  const count = counts[0];
  if (count === 0) throw new QtuneError('data_empty', `the dataset has no samples (${data[0].source.describe})`, { path: 'inputs' });
  const first = data[0].source;
  let labels: Int32Array | undefined;
  let textLabels: string[] | undefined;
  if (desc.labels) {
    const loaded = await loadLabels(desc.labels, first);
    if (loaded.length !== count) {
      const file = Object.values(desc.labels)[0];
      throw new QtuneError('labels_count_mismatch', `${typeof file === 'string' ? file : 'labels'} has ${loaded.length} labels but the data has ${count} samples`, {
        file: typeof file === 'string' ? file : undefined,
        path: 'labels',
      });
    }
    if (Array.isArray(loaded)) textLabels = loaded;
    else labels = loaded;
  }

  // An input without a batch axis takes one sample per run, except a constant whose shape is all static
  // (a scalar sample rate): it is the same for any batch. A constant over a dynamic dim (a state [2, N, 128])
  // has its N fixed by the user, so it runs one sample at a time too.
  const oneSamplePerRun = (b: Binding): boolean => !b.batched && (!b.source.constant || b.spec.dims.some(isDynamic));
  const fixedBatch = (): number | null => {
    for (const b of bindings) if (b.batched && !isDynamic(b.spec.dims[0])) return b.spec.dims[0] as number;
    return bindings.some(oneSamplePerRun) ? 1 : null;
  };
  const noted = new Set<string>();
  const effectiveBatchSize = (requested: number): number => {
    if (!Number.isInteger(requested) || requested < 1) throw new QtuneError('batch_size_invalid', `batch size must be a positive integer, got ${requested}`);
    const fixed = fixedBatch();
    if (fixed === null || fixed === requested) return requested;
    const note = `batch size ${requested} was asked for, but the model's batch dimension is fixed at ${fixed}; using ${fixed}`;
    if (!noted.has(note)) {
      noted.add(note);
      notes.push(note);
    }
    return fixed;
  };

  // Images at their own sizes cannot share a tensor: each runs alone, and counts (batch_num × batch size) stay in samples.
  const onePerRun = bindings.some((b) => b.source.onePerRun);
  if (onePerRun) {
    const fixed = bindings.find((b) => b.batched && !isDynamic(b.spec.dims[0]) && b.spec.dims[0] !== 1);
    if (fixed) {
      throw new QtuneError('dataset_invalid', `sizes "batch-of-one" runs one image per inference, but the model's input '${fixed.spec.name}' has a fixed batch of ${fixed.spec.dims[0]}`, {
        path: `inputs.${fixed.spec.name}.sizes`,
        hint: 'letterbox the images to one size instead (--sizes letterbox:WxH)',
      });
    }
    notes.push('images run one per inference, each at its own size (sizes "batch-of-one")');
  }
  const runSize = (requested: number): number => (onePerRun ? (effectiveBatchSize(requested), 1) : effectiveBatchSize(requested));

  const concurrency = Math.max(1, options.concurrency ?? 8);

  /** Reads every input of one sample; null when a bad image is skipped. */
  const readOne = async (index: number): Promise<Sample[] | null> => {
    try {
      return await Promise.all(bindings.map((b) => b.source.read(index)));
    } catch (err) {
      const file = err instanceof QtuneError ? err.details.file : undefined;
      if (options.skipBadImages && err instanceof QtuneError && err.code === 'image_invalid' && file) {
        skipped.push({ file, reason: err.message });
        return null;
      }
      throw err;
    }
  };

  const readWindow = async (indices: number[]): Promise<{ index: number; samples: Sample[] }[]> => {
    const out: { index: number; samples: Sample[] }[] = [];
    for (let s = 0; s < indices.length; s += concurrency) {
      const part = indices.slice(s, s + concurrency);
      const read = await Promise.all(part.map(readOne));
      read.forEach((samples, k) => samples && out.push({ index: part[k], samples }));
    }
    return out;
  };

  const unbatched = bindings.filter((b) => !b.batched).map((b) => b.spec.name);
  const assemble = (rows: { index: number; samples: Sample[] }[], size: number): Batch => {
    const feeds: Record<string, Feed> = {};
    const padded = Math.max(0, size - rows.length);
    bindings.forEach((b, k) => {
      const shape = rows[0].samples[k].shape;
      for (const r of rows) {
        const s = r.samples[k].shape;
        if (s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
          const file = b.source.files?.[r.index];
          throw new QtuneError('shape_mismatch', `input '${b.spec.name}': sample ${r.index}${file ? ` (${file})` : ''} has shape ${fmt(s)}, other samples in its batch ${fmt(shape)}${file ? `; ${SIZES_HINT}` : ''}`, {
            file,
            hint: SIZES_HINT,
          });
        }
      }
      if (!b.source.sampleShape) bindShape(b.spec, shape, b.source.describe);
      if (b.source.constant && !b.batched) {
        // fed as it is, once per run, whatever the batch size
        const s = rows[0].samples[k];
        feeds[b.spec.name] = { dims: [...shape], type: b.type, data: convertData(s.data, s.dtype, b.type) };
        return;
      }
      const per = shape.reduce((a, c) => a * c, 1);
      const data = allocData(b.type, per * size);
      for (let r = 0; r < size; r++) {
        const s = rows[Math.min(r, rows.length - 1)].samples[k];
        const values = convertData(s.data, s.dtype, b.type);
        (data as { set(a: ArrayLike<number | bigint>, o: number): void }).set(values as ArrayLike<number | bigint>, r * per);
      }
      feeds[b.spec.name] = { dims: b.batched ? [size, ...shape] : [...shape], type: b.type, data };
    });
    const indices = rows.map((r) => r.index);
    return {
      feeds, indices, padded, labels: labels ? Int32Array.from(indices, (i) => labels![i]) : undefined,
      ...(textLabels ? { textLabels: indices.map((i) => textLabels![i]) } : {}),
      ...(unbatched.length ? { unbatched } : {}),
    };
  };

  async function* batches(opts: BatchOptions): AsyncGenerator<Batch> {
    const size = runSize(opts.batchSize);
    const fixed = fixedBatch() !== null;
    const order = sampleOrder(count, opts);
    const windows: number[][] = [];
    for (let s = 0; s < order.length; s += size) windows.push(order.slice(s, s + size));
    let next = windows.length ? readWindow(windows[0]) : null;
    for (let w = 0; w < windows.length; w++) {
      const rows = await next!;
      // Start reading the next batch now, so decoding overlaps the caller's inference.
      next = w + 1 < windows.length ? readWindow(windows[w + 1]) : null;
      next?.catch(() => undefined); // surfaced when awaited
      if (rows.length === 0) continue;
      yield assemble(rows, fixed ? size : rows.length);
    }
  }

  return {
    count,
    inputNames: bindings.map((b) => b.spec.name),
    labels,
    ...(textLabels ? { textLabels } : {}),
    classNames: first.classNames,
    files: first.files,
    skipped,
    notes,
    effectiveBatchSize,
    runSize,
    batches,
  };
}
