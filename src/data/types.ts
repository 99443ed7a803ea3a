import type * as tf from '@tensorflow/tfjs-core';

/** The data contracts: images as the formats read them, the sets datasets build, the transforms the pipeline applies. */

/** One image: interleaved HWC bytes. */
export interface RawImage {
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

/** A labelled set of images held as raw bytes; decoding and augmentation happen in the input pipeline. */
export interface ImageSet {
  size: number;
  labels: Int32Array;
  /** Fixed shape [H, W, C] when every image has it (then `pixels` holds them all, N*H*W*C), else null. */
  shape: [number, number, number] | null;
  pixels: Uint8Array | null;
  image(index: number): RawImage;
}

/** What a dataset component builds. */
export interface DatasetSplits {
  name: string;
  numClasses: number;
  train: ImageSet;
  test: ImageSet;
  /** Where the files were read from, for env.json and error messages. */
  source: string;
}

/** A batch as float tensors ready for the model: x is NHWC float32, y holds class ids. */
export interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
}

/** A transform maps one image to another (augmentation, cropping, normalisation) using a seeded random source. */
export interface Transform {
  /** `fit` sees the training set once (per-pixel mean, channel statistics). */
  fit?(train: ImageSet): void;
  apply(img: FloatImage, rng: () => number): FloatImage;
  /** Output shape for an input shape, used to size the model before any data is read. */
  outputShape(shape: [number, number, number]): [number, number, number];
}

export interface FloatImage {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}
