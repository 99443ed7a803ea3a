import { ArrayImageSet, sharedBytes } from './image-set.js';
import { parseMat5, type MatArray } from './mat5.js';
import { InputError } from '../util/errors.js';
import { readRegularFile } from '../util/regular-file.js';

/** extra_32x32.mat, the largest SVHN file, is 1.3 GB. */
const MAX_MAT_BYTES = 2 ** 31;

/** Every SVHN cropped digit: 32×32 RGB. */
export const SVHN_SHAPE: [number, number, number] = [32, 32, 3];

/** The X and y arrays of an SVHN cropped-digits file, still column-major. */
export interface SvhnArrays {
  source: string;
  X: MatArray;
  y: MatArray;
  count: number;
}

/** Reads `{train,test,extra}_32x32.mat`: X is 32×32×3×N uint8 (column-major), y is N×1 with digit 0 stored as 10. */
export function readSvhnMat(path: string): SvhnArrays {
  const vars = parseMat5(readRegularFile(path, MAX_MAT_BYTES, 'an SVHN file this large is not one; replace it'), path);
  const X = vars.get('X');
  const y = vars.get('y');
  if (!X || !y)
    throw new InputError(
      `${path}: expected variables X and y, found ${[...vars.keys()].join(', ') || 'none'}: not an SVHN cropped-digits file, or damaged`,
    );
  const [h, w, c, count] = X.dims;
  if (h !== 32 || w !== 32 || c !== 3 || X.dims.length !== 4 || !(X.data instanceof Uint8Array)) {
    throw new InputError(`${path}: X is ${X.dims.join('×')} (class ${X.mxClass}), expected 32×32×3×N uint8`);
  }
  if (X.data.length !== 3072 * count)
    throw new InputError(
      `${path}: X declares ${count} images (${3072 * count} bytes) but holds ${X.data.length} bytes: the file is damaged; replace it`,
    );
  if (y.data.length !== count)
    throw new InputError(`${path}: y has ${y.data.length} labels for ${count} images: the file is damaged; replace it`);
  return { source: path, X, y, count };
}

/** Joins SVHN files into one HWC image set (train and extra are trained on together). */
export function svhnImageSet(parts: SvhnArrays[]): ArrayImageSet {
  const total = parts.reduce((n, p) => n + p.count, 0);
  const pixels = sharedBytes(total * 3072);
  const labels = new Int32Array(total);
  let n = 0;
  for (const part of parts) {
    const X = part.X.data;
    for (let i = 0; i < part.count; i++, n++) {
      const label = part.y.data[i];
      labels[n] = label === 10 ? 0 : label;
      const dst = n * 3072;
      // Column-major X[row, col, ch, i] lives at row + 32·col + 1024·ch + 3072·i.
      for (let ch = 0; ch < 3; ch++) {
        for (let col = 0; col < 32; col++) {
          const src = 3072 * i + 1024 * ch + 32 * col;
          for (let row = 0; row < 32; row++) pixels[dst + (row * 32 + col) * 3 + ch] = X[src + row];
        }
      }
    }
  }
  return new ArrayImageSet(pixels, labels, SVHN_SHAPE);
}
