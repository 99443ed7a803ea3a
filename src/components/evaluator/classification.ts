import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import { evaluate } from '../../train/evaluate.js';
import type { Evaluator, EvaluatorFacts } from '../../train/types.js';

export const classification = defineComponent({
  kind: 'evaluator',
  type: 'classification',
  doc: "Loss, top-1 and top-5 error and accuracy of a whole split, with the test transforms (no augmentation), in inference mode: metrics <name>_loss, <name>_error, <name>_top5_error, <name>_accuracy and <head>/<name>_error for each auxiliary head. On split train it is big_vision's train-set accuracy (evaluators/classification.py on a training split).",
  params: Type.Object(
    {
      split: Type.Union([Type.Literal('test'), Type.Literal('train')], {
        default: 'test',
        description: 'The split evaluated: test, or train (the training images without augmentation).',
      }),
      every: Type.Optional(
        Type.Integer({
          minimum: 1,
          description: 'Evaluate every this many epochs (and after the last); left out: train.eval_every.',
        }),
      ),
      batch_size: Type.Optional(
        Type.Integer({ minimum: 1, description: 'Evaluation batch size; left out: train.eval_batch_size.' }),
      ),
    },
    { additionalProperties: false },
  ),
  build(params, ctx): Evaluator {
    const facts = ctx.facts.evaluation as EvaluatorFacts;
    const prefix = `${facts.name}_`;
    return {
      name: facts.name,
      every: params.every ?? facts.every,
      async run(e) {
        const r = await evaluate(e.tf, e.model, {
          loss: e.loss,
          dataset: e.dataset,
          split: params.split,
          transforms: e.transforms,
          batchSize: params.batch_size ?? facts.batchSize,
          seed: ctx.seed,
          batchStatistics: e.batchStatistics,
          compile: facts.compile,
        });
        const metrics: Record<string, number> = {
          [`${prefix}loss`]: r.loss,
          [`${prefix}error`]: r.error,
          [`${prefix}top5_error`]: r.top5Error,
          [`${prefix}accuracy`]: 1 - r.error,
        };
        for (const [head, err] of Object.entries(r.auxError)) metrics[`${head}/${prefix}error`] = err;
        return { metrics, error: r.error, images: r.images, seconds: r.seconds };
      },
    };
  },
});
