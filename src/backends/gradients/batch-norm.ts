import { tf } from '../tfjs.js';
import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs-core';

/**
 * FusedBatchNorm gradient with broadcasting instead of Tile (the stock one tiles 1/sqrt(var) to the input's shape,
 * which costs more on wasm than the rest of the batch norm together), and each reduction computed once.
 */
export const batchNormGradConfig: GradConfig = {
  kernelName: tf.FusedBatchNorm,
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs: NamedAttrMap) => {
    const [x, mean, variance, scale] = saved;
    const g = dy as tf.Tensor;
    const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const reduce = (t: tf.Tensor): tf.Tensor => (axes.length > 0 ? tf.sum(t, axes) : t);
    const rstd = tf.rsqrt(tf.add(variance, attrs.varianceEpsilon as number));
    const gain = scale == null ? rstd : tf.mul(rstd, scale);
    const sumDy = reduce(g);
    const sumDyCentered = tf.tidy(() => reduce(tf.mul(g, tf.sub(x, mean))));
    return {
      x: () => tf.mul(g, gain),
      mean: () => tf.reshape(tf.neg(tf.mul(sumDy, gain)), mean.shape),
      variance: () => tf.reshape(tf.mul(sumDyCentered, tf.mul(gain, tf.mul(tf.square(rstd), -0.5))), mean.shape),
      scale: () => tf.reshape(tf.mul(sumDyCentered, rstd), mean.shape),
      offset: () => tf.reshape(sumDy, mean.shape),
    };
  },
};
