import { tf } from '../tfjs.js';
import type { GradConfig } from '@tensorflow/tfjs-core';

/** Cast gradient passes dy through as a reshape, which shares its data; the stock clone copies it on wasm. */
export const castGradConfig: GradConfig = {
  kernelName: tf.Cast,
  gradFunc: (dy) => ({ x: () => tf.reshape(dy as tf.Tensor, (dy as tf.Tensor).shape) }),
};
