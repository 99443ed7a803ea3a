import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { Loss } from '../../train/types.js';
import type * as tfc from '@tensorflow/tfjs-core';
import { softmaxCrossEntropy } from '../../train/losses.js';

export const crossEntropy = defineComponent({
  kind: 'loss',
  type: 'cross-entropy',
  doc: "Mean softmax cross-entropy on the logits, plus each auxiliary head's (the ε-ResNet side output) times its weight.",
  params: Type.Object(
    {
      label_smoothing: Type.Number({
        minimum: 0,
        maximum: 1,
        default: 0,
        description: 'Mix this much of the uniform distribution into the one-hot targets.',
      }),
    },
    { additionalProperties: false },
  ),
  build(params, ctx): Loss {
    const tf = ctx.tf;
    return {
      compute(out, labels, numClasses) {
        const main = softmaxCrossEntropy(tf, out.logits, labels, numClasses, params.label_smoothing);
        const parts: Record<string, tfc.Scalar> = { cross_entropy: main };
        let total: tfc.Scalar = main;
        for (const aux of out.auxLogits) {
          const l = softmaxCrossEntropy(tf, aux.logits, labels, numClasses, params.label_smoothing);
          parts[`${aux.name}/cross_entropy`] = l;
          total = tf.add(total, tf.mul(l, aux.weight));
        }
        return { total, parts };
      },
    };
  },
});
