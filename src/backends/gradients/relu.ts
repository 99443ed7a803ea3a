import { tf } from '../tfjs.js';
import type { GradConfig } from '@tensorflow/tfjs-core';

/** ReLU gradient as dy·step(x): the stock one casts step(x) to float32, which on wasm is a full copy of the tensor. */
export const reluGradConfig: GradConfig = {
  kernelName: tf.Relu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, tf.step(saved[0])) }),
};
