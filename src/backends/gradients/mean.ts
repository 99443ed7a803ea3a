import { tf } from '../tfjs.js';
import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs-core';
import { broadcastAxes } from './broadcast.js';

/** Mean gradient: dy/n broadcast back in one pass (the stock one fills ones, multiplies and divides: three passes). */
export const meanGradConfig: GradConfig = {
  kernelName: tf.Mean,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs: NamedAttrMap) => {
    const [x] = saved;
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
    const count = axes.reduce((n, a) => n * x.shape[a], 1);
    return { x: () => broadcastAxes(tf.div(dy as tf.Tensor, count), x.shape, axes) };
  },
};
