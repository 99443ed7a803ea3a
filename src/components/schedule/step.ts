import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { Schedule } from '../../train/types.js';
import { WarmupParams, withWarmup } from './pairs.js';

export const step = defineComponent({
  kind: 'schedule',
  type: 'step',
  doc: 'Step decay: initial × gamma^k, where k counts the milestones ≤ the 0-based epoch. The No-Res seed multiplies by 0.1 when epoch+1 is 15 or 25, i.e. milestones [14, 24].',
  params: Type.Object(
    {
      initial: Type.Number({ exclusiveMinimum: 0, default: 0.1, description: 'Learning rate at epoch 0.' }),
      gamma: Type.Number({ exclusiveMinimum: 0, default: 0.1, description: 'Factor applied at each milestone.' }),
      milestones: Type.Array(Type.Integer({ minimum: 1 }), {
        default: [],
        description: '0-based epochs from which one more factor of gamma applies (strictly increasing).',
      }),
      ...WarmupParams,
    },
    { additionalProperties: false },
  ),
  build(params): Schedule {
    return {
      valueFor(epoch) {
        const k = params.milestones.filter((m) => m <= epoch).length;
        return withWarmup(params.initial * params.gamma ** k, epoch, params);
      },
    };
  },
});
