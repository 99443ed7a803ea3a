import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { Schedule } from '../../train/types.js';
import { WarmupParams, withWarmup } from './pairs.js';

export const cosine = defineComponent({
  kind: 'schedule',
  type: 'cosine',
  doc: 'Cosine annealing per epoch from initial to final over `epochs` (default: train.epochs): final + (initial − final)·(1 + cos(π·e/epochs))/2.',
  params: Type.Object(
    {
      initial: Type.Number({ exclusiveMinimum: 0, default: 0.1, description: 'Learning rate at epoch 0.' }),
      final: Type.Number({ minimum: 0, default: 0, description: 'Learning rate the curve reaches at `epochs`.' }),
      epochs: Type.Optional(Type.Integer({ minimum: 1, description: 'Length of the cosine; defaults to train.epochs.' })),
      ...WarmupParams,
    },
    { additionalProperties: false },
  ),
  build(params, ctx): Schedule {
    const total = params.epochs ?? (ctx.facts.epochs as number);
    return {
      valueFor(epoch) {
        const t = Math.min(epoch, total) / total;
        const v = params.final + ((params.initial - params.final) * (1 + Math.cos(Math.PI * t))) / 2;
        return withWarmup(v, epoch, params);
      },
    };
  },
});
