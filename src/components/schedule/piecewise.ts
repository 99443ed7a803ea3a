import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { Schedule } from '../../train/types.js';
import { EpochValuePairs, valueAt, WarmupParams, withWarmup, increasingEpochs } from './pairs.js';

export const piecewise = defineComponent({
  kind: 'schedule',
  type: 'piecewise',
  doc: 'Piecewise-constant learning rate: [[epoch, value], ...], each value in force from that 0-based epoch (after that many epochs ended), like tensorpack ScheduledHyperParamSetter.',
  params: Type.Object(
    {
      values: EpochValuePairs('[[epoch, value], ...] with strictly increasing epochs.'),
      initial: Type.Optional(
        Type.Number({
          minimum: 0,
          description:
            'Value before the first pair starts (tensorpack: the variable initialiser; the CIFAR baseline starts at 0.01 until (1, 0.1)).',
        }),
      ),
      ...WarmupParams,
    },
    { additionalProperties: false },
  ),
  check: (params, at, ctx) => increasingEpochs(params.values, 'values', ctx.path, at),
  build(params): Schedule {
    const pairs = params.values as [number, number][];
    const before = params.initial ?? pairs[0][1];
    return { valueFor: (epoch) => withWarmup(valueAt(pairs, epoch, before), epoch, params) };
  },
});
