import type * as tfc from '@tensorflow/tfjs-core';
import type { GradConfig } from '@tensorflow/tfjs-core';

/** dy·step(x), the ReLU gradient, as one kernel (backends that register it). */
export const RELU_GRAD = 'EpsilabReluGrad';

/** dy·step(x) as one kernel where the current backend has it, else as tfjs's own gradient computes it. */
export function reluGradient(tf: typeof tfc, dy: tfc.Tensor, x: tfc.Tensor): tfc.Tensor {
  if (tf.getKernel(RELU_GRAD, tf.getBackend()) == null) return tf.mul(dy, tf.step(x));
  return tf.engine().runKernel(RELU_GRAD, { dy, x }) as tfc.Tensor;
}

/**
 * ReLU's gradient as one kernel where the current backend has it (libtorch: one pass, where tfjs's own gradient runs a
 * step, a cast and a multiply over the whole activation); null where it has not. Gradients are registered for every
 * backend at once, so the gradient still works after a switch to one without the kernel.
 */
export function fusedReluGradient(tf: typeof tfc): GradConfig | null {
  if (tf.getKernel(RELU_GRAD, tf.getBackend()) == null) return null;
  return {
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => reluGradient(tf, dy as tfc.Tensor, saved[0]) }),
  };
}
