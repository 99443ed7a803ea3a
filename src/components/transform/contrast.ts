import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { FloatImage, Transform } from '../../data/types.js';
import { adjustContrast, clip } from '../../data/image-ops.js';
import { uniform } from '../../data/rng.js';
import { RangeParam } from '../../data/transform-params.js';

export const contrast = defineComponent({
  kind: 'transform',
  type: 'contrast',
  doc: 'Scales each channel about its image mean by a random factor r: x ← (x − mean)·r + mean, then clips to [0, 255] (tensorpack Contrast; ε-ResNet SVHN uses [0.8, 1.2]).',
  params: Type.Object(
    {
      range: RangeParam([0.8, 1.2], 'Interval r is drawn from uniformly.'),
      clip: Type.Boolean({ default: true, description: 'Clip the result to [0, 255].' }),
    },
    { additionalProperties: false },
  ),
  outputShape: (_params, shape) => shape,
  build(params): Transform {
    return {
      apply(img: FloatImage, rng) {
        const out = adjustContrast(img, uniform(rng, params.range[0], params.range[1]));
        return params.clip ? clip(out) : out;
      },
      outputShape: (shape) => shape,
    };
  },
});
