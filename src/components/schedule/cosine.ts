import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { Schedule } from '../../train/types.js';
import { WarmupParams, withWarmup } from './pairs.js';

export const cosine = defineComponent({
  kind: 'schedule',
  type: 'cosine',
  doc: 'Cosine annealing from initial to final over `epochs` (default: train.epochs): final + (initial − final)·(1 + cos(π·e/epochs))/2, per epoch or (per_step) at every step.',
  params: Type.Object(
    {
      initial: Type.Number({ exclusiveMinimum: 0, default: 0.1, description: 'Learning rate at epoch 0.' }),
      final: Type.Number({ minimum: 0, default: 0, description: 'Learning rate the curve reaches at `epochs`.' }),
      epochs: Type.Optional(
        Type.Integer({ minimum: 1, description: 'Length of the cosine; defaults to train.epochs.' }),
      ),
      per_step: Type.Boolean({
        default: false,
        description:
          'Move along the cosine at every step (e counts fractional epochs), as PyTorch recipes that step the scheduler per batch do.',
      }),
      ...WarmupParams,
    },
    { additionalProperties: false },
  ),
  build(params, ctx): Schedule {
    const total = params.epochs ?? (ctx.facts.epochs as number);
    const at = (epoch: number, fraction: number) => {
      const t = Math.min(epoch + fraction, total) / total;
      const v = params.final + ((params.initial - params.final) * (1 + Math.cos(Math.PI * t))) / 2;
      return withWarmup(v, epoch, params);
    };
    return { valueFor: (epoch) => at(epoch, 0), ...(params.per_step ? { valueAt: at } : {}) };
  },
});
