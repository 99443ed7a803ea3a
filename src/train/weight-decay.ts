import { Type, type Static } from '@sinclair/typebox';
import type * as tfc from '@tensorflow/tfjs-core';

/** tf.train.exponential_decay over global steps, as the ε-ResNet CIFAR/SVHN code schedules its weight decay. */
const ExponentialDecay = Type.Object(
  {
    initial: Type.Number({ minimum: 0, description: 'Coefficient at global step 0.' }),
    decay_steps: Type.Integer({ minimum: 1, description: 'Global steps per decay period.' }),
    decay_rate: Type.Number({ minimum: 0, description: 'Factor per period.' }),
    staircase: Type.Optional(
      Type.Boolean({
        description:
          'Decay in whole periods (floor(step/decay_steps)), as staircase=True (left out: true); false decays continuously.',
      }),
    ),
  },
  { additionalProperties: false },
);

/** An optimizer's weight-decay coefficient: a constant, or a schedule over global steps. */
export const WeightDecayParam = (description: string) =>
  Type.Union([Type.Number({ minimum: 0 }), ExponentialDecay], {
    default: 0,
    description:
      `${description} A number is constant; {initial, decay_steps, decay_rate, staircase} is initial·decay_rate^(step/decay_steps) at global step ` +
      'step (counted over the whole run, staircase: whole periods), as tf.train.exponential_decay.',
  });
export type WeightDecay = Static<ReturnType<typeof WeightDecayParam>>;

/**
 * The coefficient at a global step (the number of steps before this one), as the ε-ResNet code computes
 * tf.train.exponential_decay(0.0002, global_step, 480000, 0.2, True) in the graph that the step's update reads
 * (yuxwind/epsilonResnet scripts/cifarEpsilonResnet.py:138-140, cifarCompressedResnet.py:145-147).
 */
export function weightDecayAt(wd: WeightDecay, globalStep: number): number {
  if (typeof wd === 'number') return wd;
  const periods = globalStep / wd.decay_steps;
  return wd.initial * wd.decay_rate ** ((wd.staircase ?? true) ? Math.floor(periods) : periods);
}

/** Whether the coefficient is ever non-zero (a kernel's gradient then gains wd·w). */
export function weightDecayIsOn(wd: WeightDecay): boolean {
  return typeof wd === 'number' ? wd > 0 : wd.initial > 0;
}

/**
 * The coefficient at a global step given as a number (eager) or a scalar tensor (a compiled step's input, so that a
 * replayed step reads the step it runs at rather than the one it was captured at).
 */
export function weightDecayValue(
  tf: typeof tfc,
  wd: WeightDecay,
  globalStep: number | tfc.Scalar,
): number | tfc.Scalar {
  if (typeof wd === 'number') return wd;
  if (typeof globalStep === 'number') return weightDecayAt(wd, globalStep);
  const periods = tf.div(globalStep, wd.decay_steps);
  return tf.mul(
    wd.initial,
    tf.pow(tf.scalar(wd.decay_rate), (wd.staircase ?? true) ? tf.floor(periods) : periods),
  ) as tfc.Scalar;
}
