import type * as tfc from '@tensorflow/tfjs-core';

/** One variable's Adam update as one kernel (backends that register it). */
export const ADAM_UPDATE = 'EpsilabAdamUpdate';

/**
 * Adam's update of one variable (src/components/optimizer/adam.ts) as one kernel where the current backend has it
 * (libtorch), instead of about a dozen element-wise ones: `l2` adds w·l2 to the gradient first, `decayRate` (lr·wd)
 * takes w·decayRate off after (AdamW). The new variable value and moments, or null where the backend has no such
 * kernel. The values equal the separate ops' on CPU floats.
 */
export function adamUpdate(
  tf: typeof tfc,
  state: { w: tfc.Tensor; m: tfc.Tensor; v: tfc.Tensor; g: tfc.Tensor },
  stepSize: tfc.Scalar,
  decay: { l2: tfc.Scalar | null; decayRate: tfc.Scalar | null },
  hyper: { beta1: number; beta2: number; epsilon: number },
): { w: tfc.Tensor; m: tfc.Tensor; v: tfc.Tensor } | null {
  if (tf.getKernel(ADAM_UPDATE, tf.getBackend()) == null) return null;
  const inputs: Record<string, tfc.Tensor> = { ...state, stepSize };
  if (decay.l2) inputs.l2 = decay.l2;
  if (decay.decayRate) inputs.decayRate = decay.decayRate;
  const [w, m, v] = tf.engine().runKernel(ADAM_UPDATE, inputs, { ...hyper }) as tfc.Tensor[];
  return { w, m, v };
}
