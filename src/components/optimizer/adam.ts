import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { NamedVariable } from '../../models/types.js';
import type { Optimizer } from '../../train/types.js';
import { weightDecayIsOn, weightDecayValue, WeightDecayParam } from '../../train/weight-decay.js';
import type * as tfc from '@tensorflow/tfjs-core';
import { adamUpdate } from '../../backends/fused/adam-update.js';

/** Adam (Kingma & Ba) with bias correction; decoupled=false adds wd·w to the gradient like L2, true is AdamW. */
export const adam = defineComponent({
  kind: 'optimizer',
  type: 'adam',
  doc: 'Adam with bias correction; optional L2 (or decoupled AdamW) weight decay on conv and FC kernels.',
  params: Type.Object(
    {
      beta1: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.9, description: 'First-moment decay.' }),
      beta2: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.999, description: 'Second-moment decay.' }),
      epsilon: Type.Number({ exclusiveMinimum: 0, default: 1e-8, description: 'Denominator guard.' }),
      weight_decay: WeightDecayParam('Weight-decay coefficient on kernels.'),
      decoupled: Type.Boolean({
        default: false,
        description: 'Decoupled weight decay (AdamW) instead of L2 in the gradient.',
      }),
    },
    { additionalProperties: false },
  ),
  build(params, ctx): Optimizer {
    const tf = ctx.tf;
    const slots = new Map<string, tfc.Variable>();
    const slot = (key: string, like: tfc.Tensor) => {
      let v = slots.get(key);
      if (!v) {
        v = tf.variable(tf.zerosLike(like), false);
        slots.set(key, v);
      }
      return v;
    };
    return {
      step(
        vars: NamedVariable[],
        grads: Record<string, tfc.Tensor>,
        lr: number | tfc.Scalar,
        globalStep: number | tfc.Scalar,
      ) {
        tf.tidy(() => {
          const wd = weightDecayValue(tf, params.weight_decay, globalStep);
          const t = slot('step', tf.scalar(0));
          t.assign(tf.add(t, 1));
          // The bias correction is computed on the device: reading the step count would cost a host read per step.
          const correction = tf.div(tf.sqrt(tf.sub(1, tf.pow(params.beta2, t))), tf.sub(1, tf.pow(params.beta1, t)));
          const stepSize = tf.mul(lr, correction) as tfc.Scalar;
          // The decay terms of the fused update, made once per step, not once per variable.
          const decays = weightDecayIsOn(params.weight_decay);
          const l2 = decays && !params.decoupled ? (typeof wd === 'number' ? tf.scalar(wd) : wd) : null;
          const decayRate = decays && params.decoupled ? (tf.mul(lr, wd) as tfc.Scalar) : null;
          for (const v of vars) {
            const g0 = grads[v.name];
            if (!g0) continue;
            const decay = v.decay && decays;
            const m = slot(`${v.name}/Adam`, v.variable);
            const s = slot(`${v.name}/Adam_1`, v.variable);
            const fused = adamUpdate(
              tf,
              { w: v.variable, m, v: s, g: g0 },
              stepSize,
              { l2: decay ? l2 : null, decayRate: decay ? decayRate : null },
              { beta1: params.beta1, beta2: params.beta2, epsilon: params.epsilon },
            );
            if (fused) {
              m.assign(fused.m);
              s.assign(fused.v);
              v.variable.assign(fused.w);
              continue;
            }
            const g = decay && !params.decoupled ? tf.add(g0, tf.mul(v.variable, wd)) : g0;
            m.assign(tf.add(tf.mul(m, params.beta1), tf.mul(g, 1 - params.beta1)));
            s.assign(tf.add(tf.mul(s, params.beta2), tf.mul(tf.square(g), 1 - params.beta2)));
            let w = tf.sub(v.variable, tf.mul(tf.div(m, tf.add(tf.sqrt(s), params.epsilon)), stepSize));
            if (decay && params.decoupled) w = tf.sub(w, tf.mul(v.variable, tf.mul(lr, wd)));
            v.variable.assign(w);
          }
        });
      },
      slots() {
        return Object.fromEntries(slots);
      },
      loadSlots(values) {
        for (const [key, value] of Object.entries(values)) {
          slots.get(key)?.dispose();
          slots.set(key, tf.variable(value.clone(), false));
        }
      },
      dispose() {
        for (const v of slots.values()) v.dispose();
        slots.clear();
      },
    };
  },
});
