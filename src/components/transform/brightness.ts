import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { FloatImage, Transform } from '../../data/types.js';
import { addBrightness, clip } from '../../data/image-ops.js';
import { uniform } from '../../data/rng.js';

export const brightness = defineComponent({
  kind: 'transform',
  type: 'brightness',
  doc: 'Adds one random value in [−delta, delta] to every pixel, then clips to [0, 255] (tensorpack Brightness; the ε-ResNet SVHN pipeline uses delta 10).',
  params: Type.Object(
    {
      delta: Type.Number({ exclusiveMinimum: 0, default: 10, description: 'Largest shift, in pixel units.' }),
      clip: Type.Boolean({ default: true, description: 'Clip the result to [0, 255].' }),
    },
    { additionalProperties: false },
  ),
  outputShape: (_params, shape) => shape,
  build(params): Transform {
    return {
      apply(img: FloatImage, rng) {
        const out = addBrightness(img, uniform(rng, -params.delta, params.delta));
        return params.clip ? clip(out) : out;
      },
      outputShape: (shape) => shape,
    };
  },
});
