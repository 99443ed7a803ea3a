import * as tfc from '@tensorflow/tfjs-core';

/** Training-mode batch norm of NHWC x over its batch statistics, as one kernel (backends that register it). */
export const BATCH_NORM_TRAINING = 'EpsilabBatchNormTraining';
/** Its gradient to x (through the statistics too), scale and offset, as one kernel. */
export const BATCH_NORM_TRAINING_GRAD = 'EpsilabBatchNormTrainingGrad';

let gradientRegistered = false;

/**
 * tf.moments over N, H, W followed by tf.batchNorm, in one kernel and its gradient in another where the current backend
 * has them (libtorch: what PyTorch runs), instead of some twenty element-wise passes; null where it has not. The
 * returned mean and variance are the batch statistics for the running averages and carry no gradient.
 */
export function batchNormTraining(
  tf: typeof tfc,
  x: tfc.Tensor4D,
  scale: tfc.Tensor1D,
  offset: tfc.Tensor1D,
  varianceEpsilon: number,
): { y: tfc.Tensor4D; mean: tfc.Tensor1D; variance: tfc.Tensor1D } | null {
  if (tf.getKernel(BATCH_NORM_TRAINING, tf.getBackend()) == null) return null;
  if (!gradientRegistered) {
    tf.registerGradient({
      kernelName: BATCH_NORM_TRAINING,
      inputsToSave: ['x', 'scale'],
      outputsToSave: [false, true, false, true],
      gradFunc: (dys, saved, attrs) => {
        const [x, scale, mean, invStd] = saved;
        const dy = (dys as tfc.Tensor[])[0];
        const [dx, dScale, dOffset] = tf
          .engine()
          .runKernel(BATCH_NORM_TRAINING_GRAD, { dy, x, scale, mean, invStd }, attrs) as tfc.Tensor[];
        return { x: () => dx, scale: () => dScale, offset: () => dOffset };
      },
    });
    gradientRegistered = true;
  }
  const [y, mean, variance] = tf
    .engine()
    .runKernel(BATCH_NORM_TRAINING, { x, scale, offset }, { varianceEpsilon }) as tfc.Tensor[];
  return { y: y as tfc.Tensor4D, mean: mean as tfc.Tensor1D, variance: variance as tfc.Tensor1D };
}
