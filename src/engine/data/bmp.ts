// A small BMP decoder. sharp's prebuilt libvips has no BMP loader (its
// `magick` format is compiled out), and BMP is simple enough to read here:
// a 14-byte file header, an info header, an optional palette, then rows of
// pixels bottom-up (top-down when the height is negative), each row padded to
// 4 bytes. We read what cameras, PIL and OpenCV write: 1/4/8-bit palette,
// 16-bit 5-5-5 or bitfields, 24-bit BGR, 32-bit BGRA/bitfields, uncompressed.
// Reference: https://learn.microsoft.com/en-us/windows/win32/gdi/bitmap-storage

import { QtuneError } from '../../shared/errors';

export interface DecodedImage {
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA) */
  channels: 3 | 4;
  /** row-major, top row first, interleaved channels */
  data: Uint8Array;
}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d; // "BM"
}

/** Shift and width of a contiguous bit mask, to scale a channel to 0..255. */
function maskInfo(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

export function decodeBmp(bytes: Uint8Array, file?: string): DecodedImage {
  const bad = (why: string): never => {
    throw new QtuneError('image_invalid', `${file ?? 'image'}: cannot decode BMP: ${why}`, { file });
  };
  if (!isBmp(bytes) || bytes.length < 26) bad('not a BMP file');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pixelOffset = dv.getUint32(10, true);
  const infoSize = dv.getUint32(14, true);
  let width: number;
  let rawHeight: number;
  let bpp: number;
  let compression = BI_RGB;
  let paletteSize = 0;
  if (infoSize === 12) {
    // OS/2 BITMAPCOREHEADER: 16-bit dimensions, 3-byte palette entries.
    width = dv.getUint16(18, true);
    rawHeight = dv.getInt16(20, true);
    bpp = dv.getUint16(24, true);
  } else if (infoSize >= 40 && bytes.length >= 14 + infoSize) {
    width = dv.getInt32(18, true);
    rawHeight = dv.getInt32(22, true);
    bpp = dv.getUint16(28, true);
    compression = dv.getUint32(30, true);
    paletteSize = dv.getUint32(46, true);
  } else {
    return bad(`unknown info header size ${infoSize}`);
  }
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  if (width <= 0 || height <= 0) bad(`bad size ${width}×${height}`);
  if (compression !== BI_RGB && compression !== BI_BITFIELDS && compression !== BI_ALPHABITFIELDS) {
    bad(`compression ${compression} (RLE/JPEG/PNG inside BMP) is not supported; re-save as uncompressed BMP or PNG`);
  }

  // Channel masks: defaults for BI_RGB; read from the header (V4/V5) or just after it (V3 + BI_BITFIELDS).
  let masks = bpp === 16 ? [0x7c00, 0x03e0, 0x001f, 0] : [0x00ff0000, 0x0000ff00, 0x000000ff, 0];
  if (compression !== BI_RGB) {
    const at = 14 + 40;
    if (bytes.length < at + 12) bad('truncated bit masks');
    masks = [dv.getUint32(at, true), dv.getUint32(at + 4, true), dv.getUint32(at + 8, true), 0];
    if (infoSize >= 56 || compression === BI_ALPHABITFIELDS) masks[3] = dv.getUint32(at + 12, true);
  } else if (bpp === 32 && infoSize >= 108) {
    masks[3] = dv.getUint32(14 + 52, true);
  }
  const hasAlpha = (bpp === 32 || bpp === 16) && masks[3] !== 0;
  const channels: 3 | 4 = hasAlpha ? 4 : 3;

  let palette: Uint8Array | undefined;
  if (bpp <= 8) {
    const entries = paletteSize || 1 << bpp;
    const entryBytes = infoSize === 12 ? 3 : 4;
    const start = 14 + infoSize;
    if (bytes.length < start + entries * entryBytes) bad('truncated palette');
    palette = new Uint8Array(entries * 3);
    for (let i = 0; i < entries; i++) {
      // Palette entries are stored B, G, R(, reserved).
      palette[i * 3] = bytes[start + i * entryBytes + 2];
      palette[i * 3 + 1] = bytes[start + i * entryBytes + 1];
      palette[i * 3 + 2] = bytes[start + i * entryBytes];
    }
  } else if (bpp !== 16 && bpp !== 24 && bpp !== 32) {
    bad(`${bpp} bits per pixel is not supported`);
  }

  const rowBytes = Math.ceil((width * bpp) / 32) * 4;
  if (bytes.length < pixelOffset + rowBytes * height) bad('truncated pixel data');
  const out = new Uint8Array(width * height * channels);
  const info = masks.map(maskInfo);
  for (let y = 0; y < height; y++) {
    const row = pixelOffset + (topDown ? y : height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (palette) {
        const bitPos = x * bpp;
        const byte = bytes[row + (bitPos >> 3)];
        const index = (byte >> (8 - bpp - (bitPos & 7))) & ((1 << bpp) - 1);
        if (index * 3 >= palette.length) bad(`palette index ${index} out of range`);
        out[o] = palette[index * 3];
        out[o + 1] = palette[index * 3 + 1];
        out[o + 2] = palette[index * 3 + 2];
      } else if (bpp === 24 && compression === BI_RGB) {
        const p = row + x * 3;
        out[o] = bytes[p + 2];
        out[o + 1] = bytes[p + 1];
        out[o + 2] = bytes[p];
      } else {
        const p = row + x * (bpp / 8);
        const v = bpp === 16 ? dv.getUint16(p, true) : dv.getUint32(p, true);
        for (let c = 0; c < channels; c++) {
          const { shift, max } = info[c];
          out[o + c] = max === 0 ? 255 : Math.round((((v & masks[c]) >>> shift) * 255) / max);
        }
      }
    }
  }
  return { width, height, channels, data: out };
}
