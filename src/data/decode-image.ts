import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { UserError } from '../util/errors.js';
import type { RawImage } from './types.js';

/** An image file that cannot be decoded: the user's data, named with what to do about it. */
export class DamagedImageError extends UserError {
  override name = 'DamagedImageError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(
      `${file}: damaged image (${reason}); replace or remove it, or set the dataset's on_damaged: skip to train without it`,
    );
  }
}

/** Decodes a JPEG or PNG (told apart by their magic bytes) to HWC bytes with 1 or 3 channels, in pure JavaScript. */
export function decodeImageBytes(bytes: Uint8Array, path: string, channels: number): RawImage {
  let rgba: { data: Uint8Array; width: number; height: number };
  try {
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      rgba = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    } else if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
      rgba = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } else {
      throw new Error('not a JPEG or PNG file');
    }
  } catch (e) {
    throw new DamagedImageError(path, String((e as Error).message).split('\n')[0]);
  }
  return fromRgba(rgba.data, rgba.height, rgba.width, channels);
}

/** Drops alpha; for one channel takes luminance (ITU-R 601, as OpenCV's RGB2GRAY). */
function fromRgba(rgba: Uint8Array, height: number, width: number, channels: number): RawImage {
  const n = height * width;
  const data = new Uint8Array(n * channels);
  for (let p = 0; p < n; p++) {
    const r = rgba[4 * p];
    const g = rgba[4 * p + 1];
    const b = rgba[4 * p + 2];
    if (channels === 1) {
      data[p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    } else {
      data[3 * p] = r;
      data[3 * p + 1] = g;
      data[3 * p + 2] = b;
    }
  }
  return { data, height, width, channels };
}
