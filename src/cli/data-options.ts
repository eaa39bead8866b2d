// The data flags every command that reads samples shares: where the samples
// are, their labels, and how images are preprocessed.

import { Option, type Command } from 'commander';
import type { ImagePreprocess } from '../shared/dataset-schema';
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
  skipBadImages?: boolean;
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
    .option('--skip-bad-images', 'skip images that cannot be decoded (they are counted and listed) instead of stopping');
}

function numbers(flag: string, value: string): number[] {
  const out = value.split(',').map((v) => Number(v.trim()));
  if (out.some((v) => !Number.isFinite(v))) throw new QtuneError('cli_invalid', `--${flag} wants numbers separated by commas, got "${value}"`);
  return out;
}

function pair(flag: string, value: string): [number, number] {
  const m = /^(\d+)x(\d+)$/i.exec(value.trim());
  if (!m) throw new QtuneError('cli_invalid', `--${flag} wants AxB (e.g. 224x224), got "${value}"`);
  return [Number(m[1]), Number(m[2])];
}

/** Image preprocessing from the flags; undefined when none was given. */
export function preprocessFromFlags(f: DataFlags): ImagePreprocess | undefined {
  const pp: ImagePreprocess = {};
  if (f.resize) {
    if (/^\d+$/.test(f.resize.trim())) pp.resize = { shorter: Number(f.resize) };
    else {
      const [width, height] = pair('resize', f.resize);
      pp.resize = { width, height };
    }
  }
  if (f.crop) pp.centerCrop = pair('crop', f.crop);
  if (f.color) pp.color = f.color;
  if (f.scale) pp.scale = numbers('scale', f.scale)[0];
  if (f.mean) pp.mean = numbers('mean', f.mean);
  if (f.std) pp.std = numbers('std', f.std);
  if (f.layout) pp.layout = f.layout;
  return Object.keys(pp).length ? pp : undefined;
}
