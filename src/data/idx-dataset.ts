import { ArrayImageSet, sharedBytes } from './image-set.js';
import { readIdx } from './idx.js';
import { InputError } from '../util/errors.js';

/** The four files of an MNIST-style dataset, gzipped or not (some mirrors name them with a dot). */
export const IDX_FILES = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
].map((stem) => [`${stem}.gz`, stem, stem.replace('-idx', '.idx')]);

/** Reads one split from its images and labels IDX files into a shared-memory set of H×W×1 images; labels index `classes`. */
export function readIdxSplit(imagesPath: string, labelsPath: string, classes: number): ArrayImageSet {
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  if (images.dims.length !== 3)
    throw new InputError(`${imagesPath}: expected N×H×W images, found dims ${images.dims.join('×')}`);
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
    throw new InputError(
      `${labelsPath}: ${labels.dims.join('×')} labels for the ${images.dims[0]} images of ${imagesPath}: one of the two files is from another dataset or damaged`,
    );
  }
  const bad = labels.data.findIndex((label) => label >= classes);
  if (bad >= 0) {
    throw new InputError(
      `${labelsPath}: label ${labels.data[bad]} at record ${bad + 1} is outside the dataset's ${classes} classes (0–${classes - 1}): the file is damaged or of another dataset; replace it`,
    );
  }
  const pixels = sharedBytes(images.data.length);
  pixels.set(images.data);
  return new ArrayImageSet(pixels, Int32Array.from(labels.data), [images.dims[1], images.dims[2], 1]);
}

/** Reads train and test from the located files (in IDX_FILES order) of a dataset of `classes` classes. */
export function readIdxDataset(files: string[], classes: number): { train: ArrayImageSet; test: ArrayImageSet } {
  return { train: readIdxSplit(files[0], files[1], classes), test: readIdxSplit(files[2], files[3], classes) };
}
