import { Type } from '@sinclair/typebox';
import { momentumUpdate } from '../../backends/fused/momentum-update.js';
import { defineComponent } from '../../registry/component.js';
import type { NamedVariable } from '../../models/types.js';
import type { Optimizer } from '../../train/types.js';
import { weightDecayIsOn, weightDecayValue, WeightDecayParam } from '../../train/weight-decay.js';
import type * as tfc from '@tensorflow/tfjs-core';

/** SGD with momentum as TF's MomentumOptimizer: accum = m·accum + g; w -= lr·accum (Nesterov: w -= lr·(g + m·accum)). */
export const momentum = defineComponent({
  kind: 'optimizer',
  type: 'momentum',
  doc: 'SGD with (optionally Nesterov) momentum; weight decay (a constant or a schedule over global steps) adds wd·w to the gradient of conv and FC kernels only.',
  params: Type.Object(
    {
      momentum: Type.Number({
        minimum: 0,
        maximum: 1,
        default: 0.9,
        description: 'Momentum coefficient (0 = plain SGD).',
      }),
      nesterov: Type.Boolean({
        default: false,
        description: 'Nesterov momentum (the ε-ResNet ImageNet code uses it; CIFAR does not).',
      }),
      weight_decay: WeightDecayParam(
        'L2 coefficient on kernels: gradient += weight_decay·w (tensorpack 2e-4·Σw²/2 on CIFAR).',
      ),
    },
    { additionalProperties: false },
  ),
  build(params, ctx): Optimizer {
    const tf = ctx.tf;
    const accum = new Map<string, tfc.Variable>();
    const decays = weightDecayIsOn(params.weight_decay);
    return {
      step(
        vars: NamedVariable[],
        grads: Record<string, tfc.Tensor>,
        lr: number | tfc.Scalar,
        globalStep: number | tfc.Scalar,
      ) {
        tf.tidy(() => {
          // Scalars made once per step, not once per variable.
          const scalar = (v: number | tfc.Scalar) => (typeof v === 'number' ? tf.scalar(v) : v);
          const wd = scalar(weightDecayValue(tf, params.weight_decay, globalStep));
          const rate = scalar(lr);
          for (const v of vars) {
            const g0 = grads[v.name];
            if (!g0) continue;
            let a = accum.get(v.name);
            if (!a) {
              a = tf.variable(tf.zerosLike(v.variable), false);
              accum.set(v.name, a);
            }
            const fused = momentumUpdate(
              tf,
              v.variable,
              a,
              g0,
              rate,
              v.decay && decays ? wd : null,
              params.momentum,
              params.nesterov,
            );
            if (fused) {
              a.assign(fused.accum);
              v.variable.assign(fused.w);
              continue;
            }
            const g = v.decay && decays ? tf.add(g0, tf.mul(v.variable, wd)) : g0;
            const next = tf.add(tf.mul(a, params.momentum), g);
            a.assign(next);
            const update = params.nesterov ? tf.add(g, tf.mul(next, params.momentum)) : next;
            v.variable.assign(tf.sub(v.variable, tf.mul(update, rate)));
          }
        });
      },
      slots() {
        return Object.fromEntries([...accum].map(([k, a]) => [`${k}/Momentum`, a]));
      },
      loadSlots(values) {
        for (const [key, value] of Object.entries(values)) {
          const name = key.replace(/\/Momentum$/, '');
          accum.get(name)?.dispose();
          accum.set(name, tf.variable(value.clone(), false));
        }
      },
      dispose() {
        for (const a of accum.values()) a.dispose();
        accum.clear();
      },
    };
  },
});
