import { ArrayImageSet, sharedBytes } from './image-set.js';
import { InputError } from '../util/errors.js';
import { readRegularFile } from '../util/regular-file.js';

const SIDE = 32;
/** Every CIFAR image: 32×32 RGB. */
export const CIFAR_SHAPE: [number, number, number] = [SIDE, SIDE, 3];
const PLANE = SIDE * SIDE;
const IMAGE = 3 * PLANE;
/** A CIFAR batch file read at most (the official ones are 30 MB; CIFAR-100's training file 150 MB). */
const MAX_FILE_BYTES = 2 ** 30;

/**
 * Reads CIFAR binary-version files: records of label byte(s) then 3072 bytes of R, G and B planes (row-major).
 * CIFAR-10 has one label byte; CIFAR-100 has coarse then fine (`labelBytes: 2`, `labelIndex` 0 coarse, 1 fine).
 */
export function readCifarBinary(files: string[], labelBytes: 1 | 2, labelIndex: number, classes = 256): ArrayImageSet {
  const record = labelBytes + IMAGE;
  const chunks = files.map((f) => {
    const bytes = readRegularFile(f, MAX_FILE_BYTES, 'a CIFAR batch file this large is not one; replace it');
    if (bytes.length === 0 || bytes.length % record !== 0) {
      throw new InputError(
        `${f}: ${bytes.length} bytes is not a whole number of ${record}-byte CIFAR records (${Math.floor(bytes.length / record)} records and ${bytes.length % record} bytes more: truncated or not a CIFAR binary batch); replace the file (download and extract the binary version again)`,
      );
    }
    for (let r = 0; r < bytes.length; r += record) {
      const label = bytes[r + labelIndex];
      if (label >= classes)
        throw new InputError(
          `${f}: record ${r / record} has label ${label}, expected below ${classes}: the file is damaged or of another dataset; replace it`,
        );
    }
    return bytes;
  });
  const total = chunks.reduce((n, c) => n + c.length / (labelBytes + IMAGE), 0);
  const pixels = sharedBytes(total * IMAGE);
  const labels = new Int32Array(total);
  let n = 0;
  for (const bytes of chunks) {
    for (let r = 0; r < bytes.length; r += labelBytes + IMAGE, n++) {
      labels[n] = bytes[r + labelIndex];
      const src = r + labelBytes;
      const dst = n * IMAGE;
      for (let p = 0; p < PLANE; p++) {
        pixels[dst + 3 * p] = bytes[src + p];
        pixels[dst + 3 * p + 1] = bytes[src + PLANE + p];
        pixels[dst + 3 * p + 2] = bytes[src + 2 * PLANE + p];
      }
    }
  }
  return new ArrayImageSet(pixels, labels, CIFAR_SHAPE);
}
