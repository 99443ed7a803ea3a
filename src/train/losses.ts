import type * as tfc from '@tensorflow/tfjs-core';

/** Mean softmax cross-entropy of one head's logits, with optional label smoothing. */
export function softmaxCrossEntropy(
  tf: typeof tfc,
  logits: tfc.Tensor2D,
  labels: tfc.Tensor1D,
  numClasses: number,
  smoothing = 0,
): tfc.Scalar {
  return tf.tidy(() => {
    let target: tfc.Tensor = tf.oneHot(tf.cast(labels, 'int32'), numClasses);
    if (smoothing > 0) target = tf.add(tf.mul(target, 1 - smoothing), smoothing / numClasses);
    return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1))) as tfc.Scalar;
  });
}
