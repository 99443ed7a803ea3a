import type { ImageSet, RawImage } from './types.js';
import { decodeImageFile } from './image-file.js';

/** Bytes in shared memory, so pipeline workers read the same pixels without a copy. */
export function sharedBytes(length: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(length));
}

/** Images of one fixed shape held together: N*H*W*C bytes, HWC per image. */
export class ArrayImageSet implements ImageSet {
  readonly size: number;
  readonly shape: [number, number, number];
  constructor(
    readonly pixels: Uint8Array,
    readonly labels: Int32Array,
    shape: [number, number, number],
  ) {
    this.shape = shape;
    this.size = labels.length;
    const per = shape[0] * shape[1] * shape[2];
    if (pixels.length !== per * this.size) {
      throw new Error(
        `pixel buffer holds ${pixels.length} bytes, expected ${this.size} images of ${shape.join('×')} (${per * this.size})`,
      );
    }
  }

  image(index: number): RawImage {
    const [height, width, channels] = this.shape;
    const per = height * width * channels;
    return { data: this.pixels.subarray(index * per, (index + 1) * per), height, width, channels };
  }
}

/** What the input pipeline does with an image file it cannot decode: leave it out of its batch with a warning, or stop. */
export type DamagedPolicy = 'skip' | 'stop';

/** Images read from files one at a time when asked for (an image folder): nothing is decoded up front. */
export class FileImageSet implements ImageSet {
  readonly shape = null;
  readonly pixels = null;
  readonly size: number;
  constructor(
    readonly files: string[],
    readonly labels: Int32Array,
    readonly channels: number,
    readonly onDamaged: DamagedPolicy = 'stop',
    /** Deliver colour images as B, G, R (as cv2.imread reads them) instead of R, G, B. */
    readonly bgr = false,
    /** The JPEG fast path may decode at a reduced DCT scale (false: the file's own pixels, as cv2.imread reads them). */
    readonly dctScaling = true,
  ) {
    this.size = files.length;
  }

  image(index: number): RawImage {
    const img = decodeImageFile(this.files[index], this.channels);
    return this.bgr ? toBgr(img) : img;
  }
}

/** An RGB image as B, G, R (the order cv2.imread gives). */
export function toBgr(img: RawImage): RawImage {
  return { ...img, data: reversedChannels(img.data, img.channels) };
}

/** HWC bytes with the channel order of every pixel reversed (RGB ↔ BGR). */
function reversedChannels(
  data: Uint8Array,
  channels: number,
  into: Uint8Array = new Uint8Array(data.length),
): Uint8Array {
  for (let p = 0; p < data.length; p += channels)
    for (let k = 0; k < channels; k++) into[p + k] = data[p + channels - 1 - k];
  return into;
}

/** The same images with their channels in BGR order: file sets decode that way, in-memory sets are copied once. */
export function bgrImageSet(set: ImageSet): ImageSet {
  if (set instanceof FileImageSet)
    return new FileImageSet(set.files, set.labels, set.channels, set.onDamaged, !set.bgr, set.dctScaling);
  if (set instanceof IndexedImageSet) return new IndexedImageSet(bgrImageSet(set.base), set.indices);
  if (set.shape && set.pixels)
    return new ArrayImageSet(
      reversedChannels(set.pixels, set.shape[2], sharedBytes(set.pixels.length)),
      set.labels,
      set.shape,
    );
  throw new Error('cannot reorder the channels of an image set that is neither in memory nor backed by image files');
}

/** A view of some images of another set, in the given order. */
export class IndexedImageSet implements ImageSet {
  readonly size: number;
  readonly labels: Int32Array;
  readonly shape: [number, number, number] | null = null;
  readonly pixels = null;
  constructor(
    readonly base: ImageSet,
    readonly indices: Int32Array,
  ) {
    this.size = indices.length;
    this.labels = Int32Array.from(indices, (i) => base.labels[i]);
  }

  image(index: number): RawImage {
    return this.base.image(this.indices[index]);
  }
}

/** The images at `indices`: array sets are copied (subsets are small), file sets keep their lazy decoding. */
export function selectImages(set: ImageSet, indices: Int32Array): ImageSet {
  if (set instanceof FileImageSet) {
    return new FileImageSet(
      Array.from(indices, (i) => set.files[i]),
      Int32Array.from(indices, (i) => set.labels[i]),
      set.channels,
      set.onDamaged,
      set.bgr,
      set.dctScaling,
    );
  }
  if (set.shape && set.pixels) {
    const per = set.shape[0] * set.shape[1] * set.shape[2];
    const pixels = sharedBytes(per * indices.length);
    indices.forEach((src, dst) => pixels.set(set.pixels!.subarray(src * per, (src + 1) * per), dst * per));
    return new ArrayImageSet(
      pixels,
      Int32Array.from(indices, (i) => set.labels[i]),
      set.shape,
    );
  }
  return new IndexedImageSet(set, indices);
}

/** What a worker thread needs to rebuild a set: shared pixels or file names, never decoded copies. */
export type ImageSetDescription =
  | { kind: 'array'; pixels: Uint8Array; labels: Int32Array; shape: [number, number, number] }
  | {
      kind: 'files';
      files: string[];
      labels: Int32Array;
      channels: number;
      onDamaged: DamagedPolicy;
      bgr: boolean;
      dctScaling: boolean;
    }
  | { kind: 'indexed'; base: ImageSetDescription; indices: Int32Array };

/** Describes a set for a worker, or says why it cannot be (a set type this module does not know). */
export function describeImageSet(set: ImageSet): ImageSetDescription | string {
  if (set instanceof FileImageSet)
    return {
      kind: 'files',
      files: set.files,
      labels: set.labels,
      channels: set.channels,
      onDamaged: set.onDamaged,
      bgr: set.bgr,
      dctScaling: set.dctScaling,
    };
  if (set instanceof IndexedImageSet) {
    const base = describeImageSet(set.base);
    return typeof base === 'string' ? base : { kind: 'indexed', base, indices: set.indices };
  }
  if (set.shape && set.pixels) {
    let pixels = set.pixels;
    if (!(pixels.buffer instanceof SharedArrayBuffer)) {
      pixels = sharedBytes(set.pixels.length);
      pixels.set(set.pixels);
    }
    return { kind: 'array', pixels, labels: set.labels, shape: set.shape };
  }
  return 'the image set is neither in memory nor backed by image files';
}

export function restoreImageSet(d: ImageSetDescription): ImageSet {
  switch (d.kind) {
    case 'array':
      return new ArrayImageSet(d.pixels, d.labels, d.shape);
    case 'files':
      return new FileImageSet(d.files, d.labels, d.channels, d.onDamaged, d.bgr, d.dctScaling);
    case 'indexed':
      return new IndexedImageSet(restoreImageSet(d.base), d.indices);
  }
}

/** Several sets read as one (fitting statistics over train and test together); not sent to workers. */
export class JoinedImageSet implements ImageSet {
  readonly size: number;
  readonly labels: Int32Array;
  readonly shape = null;
  readonly pixels = null;
  constructor(readonly parts: ImageSet[]) {
    this.size = parts.reduce((n, p) => n + p.size, 0);
    this.labels = new Int32Array(this.size);
    let n = 0;
    for (const p of parts) {
      this.labels.set(p.labels, n);
      n += p.size;
    }
  }

  image(index: number): RawImage {
    for (const p of this.parts) {
      if (index < p.size) return p.image(index);
      index -= p.size;
    }
    throw new RangeError(`image ${index} past the end of the set`);
  }
}

/** The file behind image `index` of a set, when the set reads its images from files (directly or through a view). */
export function imageFile(
  set: ImageSet,
  index: number,
): { file: string; channels: number; onDamaged: DamagedPolicy; bgr: boolean; dctScaling: boolean } | null {
  if (set instanceof FileImageSet)
    return {
      file: set.files[index],
      channels: set.channels,
      onDamaged: set.onDamaged,
      bgr: set.bgr,
      dctScaling: set.dctScaling,
    };
  if (set instanceof IndexedImageSet) return imageFile(set.base, set.indices[index]);
  return null;
}
