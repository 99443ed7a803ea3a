import { tf } from '../tfjs.js';
import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs-core';

/**
 * Max-reduction gradient (the ε gate reduces |F| over the whole batch tensor): dy goes to the elements equal to the
 * max. The stock one compares x with the max reshaped to rank 4, a broadcast that wasm's Equal runs about 20x slower
 * than a comparison with a scalar; here a full reduction compares with the scalar and a partial one compares x − max
 * with zeros.
 */
export const maxGradConfig: GradConfig = {
  kernelName: tf.Max,
  inputsToSave: ['x'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs: NamedAttrMap) => {
    const [x, y] = saved;
    const axes = tf.util.parseAxisParam(attrs.reductionIndices as number | number[], x.shape);
    const kept = tf.backend_util.expandShapeToKeepDim(y.shape, axes);
    return {
      x: () => {
        if (y.size === 1)
          return tf.mul(tf.cast(tf.equal(x, tf.reshape(y, [])), 'float32'), tf.reshape(dy as tf.Tensor, []));
        const gap = tf.sub(x, tf.reshape(y, kept));
        return tf.mul(tf.cast(tf.equal(gap, tf.zerosLike(gap)), 'float32'), tf.reshape(dy as tf.Tensor, kept));
      },
    };
  },
};
