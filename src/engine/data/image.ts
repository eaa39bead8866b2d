// Decoding one image file into a model-ready tensor: resize, centre crop,
// colour order, scale, mean/std and layout, the torchvision-style pipeline
// most classification models were trained with. sharp decodes JPEG and PNG;
// BMP goes through our own decoder (sharp's prebuilt libvips lacks one).

import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { QtuneError } from '../../shared/errors';
import type { ImagePreprocess } from '../../shared/dataset-schema';
import { decodeBmp, isBmp } from './bmp';
import { allocData, convertData } from './cast';
import { letterboxPlacement, type Letterbox } from './sizes';
import type { NdData, NdDtype } from './npy';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.bmp'];

export interface ImageTensor {
  shape: number[];
  dtype: NdDtype;
  data: NdData;
}

const KERNEL = { nearest: 'nearest', bilinear: 'linear', bicubic: 'cubic', lanczos: 'lanczos3' } as const;

/** Python's round() (half to even), so crop offsets match torchvision's CenterCrop. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Output size of a resize step, or null to keep the size. */
export function resizeTarget(width: number, height: number, resize: ImagePreprocess['resize']): { width: number; height: number } | null {
  if (!resize) return null;
  if ('shorter' in resize) {
    // Like torchvision Resize(int): the shorter side becomes `shorter`, the other keeps the aspect ratio (truncated).
    const s = resize.shorter;
    return width <= height ? { width: s, height: Math.floor((s * height) / width) } : { width: Math.floor((s * width) / height), height: s };
  }
  return { width: resize.width, height: resize.height };
}

/**
 * A centre crop that cannot fit the resized image of any input is refused up
 * front, before a single image is read: an exact resize smaller than the crop,
 * or a shorter side smaller than both crop sides.
 */
export function checkCropFitsResize(pp: ImagePreprocess): void {
  if (!pp.centerCrop || !pp.resize) return;
  const [ch, cw] = pp.centerCrop;
  const r = pp.resize;
  const tooLarge = 'shorter' in r ? ch > r.shorter && cw > r.shorter : ch > r.height || cw > r.width;
  if (!tooLarge) return;
  const resized = 'shorter' in r ? `a shorter side of ${r.shorter}` : `${r.height}×${r.width} (h×w)`;
  throw new QtuneError('preprocess_invalid', `centre crop ${ch}×${cw} (h×w) is larger than the resized image, ${resized}`, { path: 'preprocess.centerCrop' });
}

function checkChannels(name: 'mean' | 'std', values: number[] | undefined, channels: number, file: string): void {
  if (values && values.length !== 1 && values.length !== channels) {
    throw new QtuneError('preprocess_invalid', `preprocess.${name} has ${values.length} values but the image has ${channels} channel(s)`, {
      file,
      path: `preprocess.${name}`,
    });
  }
}

/** Reads, decodes and preprocesses one image file; a letterbox (see sizes.ts) replaces resize and crop. */
export async function loadImageTensor(file: string, pp: ImagePreprocess = {}, letterbox?: Letterbox): Promise<ImageTensor> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new QtuneError('file_not_readable', `cannot read ${file}: ${(err as Error).message}`, { file });
  }
  const color = pp.color ?? 'rgb';
  let img: sharp.Sharp;
  let width: number;
  let height: number;
  try {
    if (isBmp(bytes)) {
      const bmp = decodeBmp(bytes, file);
      img = sharp(bmp.data, { raw: { width: bmp.width, height: bmp.height, channels: bmp.channels } });
      width = bmp.width;
      height = bmp.height;
    } else {
      img = sharp(bytes, { failOn: 'error' });
      const meta = await img.metadata();
      width = meta.width ?? 0;
      height = meta.height ?? 0;
    }
    // Alpha is dropped, not blended, like PIL's convert('RGB').
    img = img.removeAlpha();
    img = color === 'gray' ? img.toColourspace('b-w') : img.toColourspace('srgb');
    if (letterbox) {
      const at = letterboxPlacement(width, height, letterbox);
      const fill = letterbox.fill ?? 0;
      img = img
        .resize(at.width, at.height, { fit: 'fill', kernel: KERNEL[pp.interpolation ?? 'bilinear'] })
        .extend({
          left: at.left, top: at.top, right: letterbox.width - at.width - at.left, bottom: letterbox.height - at.height - at.top,
          background: { r: fill, g: fill, b: fill, alpha: 1 },
        });
    }
    const target = letterbox ? null : resizeTarget(width, height, pp.resize);
    if (target) {
      img = img.resize(target.width, target.height, { fit: 'fill', kernel: KERNEL[pp.interpolation ?? 'bilinear'] });
      width = target.width;
      height = target.height;
    }
    if (pp.centerCrop) {
      const [ch, cw] = pp.centerCrop;
      if (ch > height || cw > width) {
        throw new QtuneError('preprocess_invalid', `${file}: centre crop ${ch}×${cw} (h×w) is larger than the image (${height}×${width} after resize)`, {
          file,
          path: 'preprocess.centerCrop',
        });
      }
      img = img.extract({ left: roundHalfEven((width - cw) / 2), top: roundHalfEven((height - ch) / 2), width: cw, height: ch });
      width = cw;
      height = ch;
    }
    const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return toTensor(data, info.width, info.height, info.channels, pp, file);
  } catch (err) {
    if (err instanceof QtuneError) throw err;
    throw new QtuneError('image_invalid', `${file}: cannot decode image: ${(err as Error).message}`, { file });
  }
}

/** HWC uint8 pixels → scaled, normalised, laid-out tensor. mean/std index the OUTPUT channel order (after bgr). */
function toTensor(pixels: Uint8Array, width: number, height: number, channels: number, pp: ImagePreprocess, file: string): ImageTensor {
  const color = pp.color ?? 'rgb';
  const outChannels = color === 'gray' ? 1 : 3;
  if (channels !== outChannels) {
    throw new QtuneError('image_invalid', `${file}: decoded to ${channels} channels, expected ${outChannels}`, { file });
  }
  checkChannels('mean', pp.mean, outChannels, file);
  checkChannels('std', pp.std, outChannels, file);
  const dtype = pp.dtype ?? 'float32';
  const layout = pp.layout ?? 'NCHW';
  const scale = pp.scale ?? 1;
  const mean = Array.from({ length: outChannels }, (_, c) => pp.mean?.[pp.mean.length === 1 ? 0 : c] ?? 0);
  const std = Array.from({ length: outChannels }, (_, c) => pp.std?.[pp.std.length === 1 ? 0 : c] ?? 1);
  const plane = width * height;
  const identity = scale === 1 && mean.every((m) => m === 0) && std.every((s) => s === 1);
  // uint8 output with no arithmetic: copy pixels straight through.
  const values = dtype === 'uint8' && identity ? allocData('uint8', plane * outChannels) : new Float32Array(plane * outChannels);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < outChannels; c++) {
      const src = color === 'bgr' ? 2 - c : c;
      const v = identity ? pixels[p * channels + src] : (pixels[p * channels + src] * scale - mean[c]) / std[c];
      values[layout === 'NCHW' ? c * plane + p : p * outChannels + c] = v;
    }
  }
  const shape = layout === 'NCHW' ? [outChannels, height, width] : [height, width, outChannels];
  const data = values instanceof Float32Array ? convertData(values, 'float32', dtype) : values;
  return { shape, dtype, data };
}
