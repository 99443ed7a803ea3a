import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { Callback, CallbackContext } from '../../train/types.js';
import { EpochValuePairs, valueAt, increasingEpochs } from '../schedule/pairs.js';

export const epsilonSchedule = defineComponent({
  kind: 'callback',
  type: 'epsilon-schedule',
  doc: "Sets the ε-ResNet gate's ε at the start of each epoch from [[epoch, value], ...]. The paper keeps ε constant (no callback); the 2020 code uses [[0, 0.0], [150, 2.5]].",
  params: Type.Object(
    { values: EpochValuePairs('[[epoch, ε], ...], each in force from that 0-based epoch.') },
    { additionalProperties: false },
  ),
  check: (params, at, ctx) => increasingEpochs(params.values, 'values', ctx.path, at),
  build(params): Callback {
    const pairs = params.values as [number, number][];
    const setEpsilon = ({ model, tf }: CallbackContext, epoch: number) => {
      if (!model.epsilon) throw new Error('epsilon-schedule needs a model with an ε gate (model.epsilon)');
      model.epsilon.assign(tf.scalar(valueAt(pairs, epoch, pairs[0][1])));
    };
    return {
      onEpochStart: (ctx) => setEpsilon(ctx, ctx.epoch),
      // Saved weights do not hold ε: a rebuilt run gets its last epoch's, not the config's initial one (a compressed
      // model without gates has none to set).
      onReopen: (ctx) => ctx.model.epsilon && setEpsilon(ctx, Math.max(0, ctx.epoch - 1)),
    };
  },
});
