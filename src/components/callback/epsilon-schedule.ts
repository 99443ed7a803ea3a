import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { Callback } from '../../train/types.js';
import { EpochValuePairs, valueAt, increasingEpochs } from '../schedule/pairs.js';
import type { ComponentSection } from '../../registry/experiment.js';

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
    return {
      onEpochStart({ model, epoch, tf }) {
        if (!model.epsilon) throw new Error('epsilon-schedule needs a model with an ε gate (model.epsilon)');
        model.epsilon.assign(tf.scalar(valueAt(pairs, epoch, pairs[0][1])));
      },
    };
  },
});

/**
 * The ε of a run's gates in its last epoch (epochsDone epochs trained): the epsilon-schedule callback's value for that
 * epoch where the config has one, else model.epsilon. Saved models do not hold ε, so whatever rebuilds a trained
 * ε-ResNet (compress, eval) sets it from here; with the config's initial ε it would evaluate another network.
 */
export function finalEpsilon(
  config: { model: ComponentSection; callbacks?: ComponentSection[] },
  epochsDone: number,
): number | null {
  const schedule = config.callbacks?.find((c) => c.type === 'epsilon-schedule');
  if (schedule) {
    const pairs = schedule.values as [number, number][];
    return valueAt(pairs, Math.max(0, epochsDone - 1), pairs[0][1]);
  }
  return typeof config.model.epsilon === 'number' ? config.model.epsilon : null;
}
