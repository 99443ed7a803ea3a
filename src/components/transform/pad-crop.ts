import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { FloatImage, Transform } from '../../data/types.js';
import { centerPaste, crop, randomOffset } from '../../data/image-ops.js';

export const padCrop = defineComponent({
  kind: 'transform',
  type: 'pad-crop',
  doc: 'Pads every side by `pad` pixels of `fill`, then crops back to the original size at a random position: the CIFAR augmentation, identical to center-paste to (H+2·pad) followed by random-crop to H.',
  params: Type.Object(
    {
      pad: Type.Integer({ minimum: 0, default: 4, description: 'Pixels added on each side.' }),
      fill: Type.Number({ default: 0, description: 'Padding value in pixel units (0 = black).' }),
      include_last_offset: Type.Boolean({
        default: false,
        description:
          'false: offsets 0..2·pad−1 (tensorpack, the ε-ResNet code); true: 0..2·pad (torchvision RandomCrop(padding=pad)).',
      }),
    },
    { additionalProperties: false },
  ),
  outputShape: (_params, shape) => shape,
  build(params): Transform {
    return {
      apply(img: FloatImage, rng) {
        const padded = centerPaste(img, img.height + 2 * params.pad, img.width + 2 * params.pad, params.fill);
        const y0 = randomOffset(rng, 2 * params.pad, params.include_last_offset);
        const x0 = randomOffset(rng, 2 * params.pad, params.include_last_offset);
        return crop(padded, y0, x0, img.height, img.width);
      },
      outputShape: (shape) => shape,
    };
  },
});
