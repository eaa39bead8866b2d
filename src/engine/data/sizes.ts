// The one place that decides what happens to images of different sizes
// (fully convolutional models take any height and width): calibration,
// evaluation and analysis all open their data through the dataset, which
// asks here how to size and batch the samples.

import { QtuneError } from '../../shared/errors';
import type { ImagePreprocess, SizePolicy } from '../../shared/dataset-schema';

export type { SizePolicy } from '../../shared/dataset-schema';

export interface Letterbox {
  width: number;
  height: number;
  fill?: number;
}

/** Where an image of width × height lands in the letterbox: scaled to fit (aspect ratio kept), centred. */
export function letterboxPlacement(width: number, height: number, box: Letterbox): { width: number; height: number; left: number; top: number } {
  const scale = Math.min(box.width / width, box.height / height);
  const w = Math.max(1, Math.min(box.width, Math.round(width * scale)));
  const h = Math.max(1, Math.min(box.height, Math.round(height * scale)));
  return { width: w, height: h, left: Math.floor((box.width - w) / 2), top: Math.floor((box.height - h) / 2) };
}

export const letterboxOf = (policy: SizePolicy | undefined): Letterbox | undefined => (policy && policy !== 'batch-of-one' ? policy.letterbox : undefined);

/** Whether samples run one per inference, each at its own size. */
export const oneSamplePerRun = (policy: SizePolicy | undefined): boolean => policy === 'batch-of-one';

/** A letterbox sets the size itself: a resize or crop besides it would contradict it, so it is refused by name. */
export function checkSizePolicy(policy: SizePolicy | undefined, pp: ImagePreprocess = {}, where = 'sizes'): void {
  if (!letterboxOf(policy)) return;
  const other = pp.resize ? 'resize' : pp.centerCrop ? 'centerCrop' : undefined;
  if (other) {
    throw new QtuneError('preprocess_invalid', `${where}: a letterbox sets the image size itself; remove preprocess.${other} (or use sizes "batch-of-one")`, {
      path: `preprocess.${other}`,
    });
  }
}

/** The policy as a user writes it on the command line: "batch-of-one" or "letterbox:WxH". */
export function describeSizePolicy(policy: SizePolicy): string {
  const box = letterboxOf(policy);
  return box ? `letterbox:${box.width}x${box.height}` : 'batch-of-one';
}

/** The hint given when a batch holds images of different sizes and no policy says what to do. */
export const SIZES_HINT =
  'images differ in size: run each at its own size with --sizes batch-of-one (manifest "sizes": "batch-of-one"; the model needs dynamic height/width), ' +
  'letterbox them with --sizes letterbox:WxH, or give them one size with --resize WxH / --crop HxW';
