import { DamagedImageError, decodeImageBytes } from './decode-image.js';
import type { RawImage } from './types.js';
import { imageSize } from './native-image.js';
import { readRegularFile, UnreadableFileError } from '../util/regular-file.js';

/** Bytes of one image file read at most: camera JPEGs are a few MB. */
const MAX_IMAGE_FILE_BYTES = 256 * 2 ** 20;
/** Pixels an image's header may claim: the largest ImageNet photos have about 16 million. */
export const MAX_IMAGE_MEGAPIXELS = 64;

/**
 * An image file's bytes, checked before anything is decoded: a regular file (not a link to /dev/zero), of a sane size,
 * whose header does not claim more than MAX_IMAGE_MEGAPIXELS (a 16000×16000 header would be decoded into gigabytes).
 * Failures are DamagedImageErrors, so a dataset's `on_damaged: skip` leaves such a file out like a damaged one.
 */
export function readImageFile(file: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readRegularFile(file, MAX_IMAGE_FILE_BYTES, 'resize the image');
  } catch (err) {
    if (err instanceof UnreadableFileError) throw new DamagedImageError(file, err.reason);
    throw err;
  }
  const size = imageSize(bytes);
  if (size && size.height * size.width > MAX_IMAGE_MEGAPIXELS * 1e6)
    throw new DamagedImageError(
      file,
      `its header says ${size.height}×${size.width}, ${((size.height * size.width) / 1e6).toFixed(0)} megapixels: more than the ${MAX_IMAGE_MEGAPIXELS}-megapixel limit of an image epsilab decodes; resize it`,
    );
  return bytes;
}

/** Decodes a JPEG or PNG file to HWC bytes with 1 or 3 channels, in pure JavaScript. */
export function decodeImageFile(path: string, channels: number): RawImage {
  return decodeImageBytes(readImageFile(path), path, channels);
}
