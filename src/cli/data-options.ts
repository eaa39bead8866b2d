// The data flags every command that reads samples shares: where the samples
// are, their labels, and how images are preprocessed.

import { Option, type Command } from 'commander';
import type { ShortForm } from '../engine/data/manifest';
import type { ImagePreprocess, SampleDtype, SizePolicy } from '../shared/dataset-schema';
import { QtuneError } from '../shared/errors';

export interface DataFlags {
  data: string;
  labels?: string;
  resize?: string;
  crop?: string;
  color?: 'rgb' | 'bgr' | 'gray';
  scale?: string;
  mean?: string;
  std?: string;
  layout?: 'NCHW' | 'NHWC';
  sizes?: string;
  skipBadImages?: boolean;
  // AMCT spellings, for folders of raw .bin batches
  input_shape?: string;
  data_types?: string;
}

export function addDataOptions(cmd: Command, what = 'data', opts: { dataRequired?: boolean; labels?: boolean } = {}): Command {
  const dataHelp = `${what}: a .npy (N samples first), .npz[:key], image folder, folder of .bin batches, or a dataset manifest .json`;
  if (opts.dataRequired === false) cmd.option('--data <path>', dataHelp);
  else cmd.requiredOption('--data <path>', dataHelp);
  if (opts.labels !== false) {
    cmd.option('--labels <path>', 'labels: .npy, .npz[:key], .csv (file,label), .txt (one per line), or "folders" for class-folder trees');
  }
  return addPreprocessOptions(cmd);
}

/** The image preprocessing flags alone (for commands that name their data with other flags). */
export function addPreprocessOptions(cmd: Command): Command {
  return cmd
    .option('--resize <n|WxH>', 'images: resize the shorter side to n, or exactly to WxH')
    .option('--crop <HxW>', 'images: centre crop after resizing')
    .addOption(new Option('--color <order>', 'images: channel order').choices(['rgb', 'bgr', 'gray']))
    .option('--scale <s>', 'images: multiply pixel values by s (e.g. 0.00392156862745098 for 1/255)')
    .option('--mean <m,m,m>', 'images: per-channel mean subtracted after scaling')
    .option('--std <s,s,s>', 'images: per-channel std divided after the mean')
    .addOption(new Option('--layout <layout>', 'images: tensor layout').choices(['NCHW', 'NHWC']))
    .option('--sizes <policy>', 'images of different sizes: batch-of-one (each at its own size, one per inference; models with dynamic height/width) or letterbox:WxH (fit and pad to WxH)')
    .option('--skip-bad-images', 'skip images that cannot be decoded (they are counted and listed) instead of stopping')
    .option('--input_shape <name:dims>', '.bin batches (AMCT): the shape of one batch file, e.g. "input:1,3,224,224"')
    .option('--data_types <type>', `.bin batches (AMCT): element type, one of ${DTYPES.join(', ')} (default float32)`);
}

const DTYPES: SampleDtype[] = ['float32', 'float16', 'float64', 'uint8', 'int8', 'int32', 'int64', 'bool'];

/** AMCT's --input_shape "name:1,3,224,224" (one input; the name is optional). */
export function parseInputShape(v: string): { name?: string; dims: number[] } {
  if (v.includes(';')) throw new QtuneError('cli_invalid', `--input_shape: only one input is supported, got "${v}"`);
  const m = /^(?:(.+):)?([\d,\s]+)$/.exec(v.trim());
  const dims = m ? m[2].split(',').map((d) => Number(d.trim())) : [];
  if (!m || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new QtuneError('cli_invalid', `--input_shape wants "name:d0,d1,..." (e.g. "input:1,3,224,224"), got "${v}"`);
  }
  return { name: m[1]?.trim(), dims };
}

/** The short-form data description from the shared data flags (the model input is filled in by the caller). */
export function shortFormFromFlags(f: DataFlags): Omit<ShortForm, 'inputName'> {
  const form: Omit<ShortForm, 'inputName'> = { data: f.data, labels: f.labels, preprocess: preprocessFromFlags(f) };
  if (f.sizes) form.sizes = sizePolicyFromFlag(f.sizes);
  if (f.input_shape) {
    const { name, dims } = parseInputShape(f.input_shape);
    form.inputShape = dims;
    if (name) form.inputShapeFor = name;
  }
  if (f.data_types) {
    if (!DTYPES.includes(f.data_types as SampleDtype)) throw new QtuneError('cli_invalid', `--data_types must be one of ${DTYPES.join(', ')}, got "${f.data_types}"`);
    form.dataTypes = f.data_types as SampleDtype;
  }
  return form;
}

function numbers(flag: string, value: string): number[] {
  const out = value.split(',').map((v) => Number(v.trim()));
  if (out.some((v) => !Number.isFinite(v))) throw new QtuneError('cli_invalid', `--${flag} wants numbers separated by commas, got "${value}"`);
  return out;
}

function pair(flag: string, value: string, wants: string): [number, number] {
  const m = /^(\d+)x(\d+)$/i.exec(value.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new QtuneError('cli_invalid', `--${flag} wants ${wants}, got "${value}"`);
  return [Number(m[1]), Number(m[2])];
}

/** --sizes batch-of-one | letterbox:WxH */
export function sizePolicyFromFlag(v: string): SizePolicy {
  const text = v.trim().toLowerCase();
  if (text === 'batch-of-one') return 'batch-of-one';
  const m = /^letterbox:(\d+)x(\d+)$/.exec(text);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new QtuneError('cli_invalid', `--sizes wants batch-of-one or letterbox:WxH (e.g. letterbox:640x640), got "${v}"`);
  return { letterbox: { width: Number(m[1]), height: Number(m[2]) } };
}

/** Image preprocessing from the flags; undefined when none was given. */
export function preprocessFromFlags(f: DataFlags): ImagePreprocess | undefined {
  const pp: ImagePreprocess = {};
  if (f.resize) {
    const wants = 'N (the shorter side, e.g. 256) or WxH (e.g. 224x224)';
    if (/^\d+$/.test(f.resize.trim())) {
      pp.resize = { shorter: Number(f.resize) };
      if (pp.resize.shorter < 1) throw new QtuneError('cli_invalid', `--resize wants ${wants}, got "${f.resize}"`);
    } else {
      const [width, height] = pair('resize', f.resize, wants);
      pp.resize = { width, height };
    }
  }
  if (f.crop) pp.centerCrop = pair('crop', f.crop, 'HxW (e.g. 224x224)');
  if (f.color) pp.color = f.color;
  if (f.scale) pp.scale = numbers('scale', f.scale)[0];
  if (f.mean) pp.mean = numbers('mean', f.mean);
  if (f.std) {
    pp.std = numbers('std', f.std);
    // values are divided by std: 0 would turn every pixel into Infinity or NaN
    if (pp.std.some((v) => !(v > 0))) throw new QtuneError('cli_invalid', `--std values must be greater than 0 (pixels are divided by them), got "${f.std}"`);
  }
  if (f.layout) pp.layout = f.layout;
  return Object.keys(pp).length ? pp : undefined;
}
