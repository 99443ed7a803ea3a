import type * as tfc from '@tensorflow/tfjs-core';

/** One variable's momentum-SGD update as one kernel (backends that register it). */
export const MOMENTUM_UPDATE = 'EpsilabMomentumUpdate';

/**
 * TF's MomentumOptimizer update of one variable with the L2 gradient wd·w added first, as one kernel where the current
 * backend has it (libtorch), instead of five to seven element-wise ones: the new variable value and accumulator, or
 * null where the backend has no such kernel. The values equal the separate ops' on CPU floats.
 */
export function momentumUpdate(
  tf: typeof tfc,
  w: tfc.Tensor,
  accum: tfc.Tensor,
  g: tfc.Tensor,
  lr: tfc.Scalar,
  wd: tfc.Scalar | null,
  momentum: number,
  nesterov: boolean,
): { w: tfc.Tensor; accum: tfc.Tensor } | null {
  if (tf.getKernel(MOMENTUM_UPDATE, tf.getBackend()) == null) return null;
  const inputs: Record<string, tfc.Tensor> = { w, accum, g, lr };
  if (wd !== null) inputs.wd = wd;
  const [next, nextAccum] = tf.engine().runKernel(MOMENTUM_UPDATE, inputs, { momentum, nesterov }) as tfc.Tensor[];
  return { w: next, accum: nextAccum };
}
