import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { FloatImage, Transform } from '../../data/types.js';
import { crop, randomOffset } from '../../data/image-ops.js';
import { SizeParam, sizedShape, toHW } from '../../data/transform-params.js';

export const randomCrop = defineComponent({
  kind: 'transform',
  type: 'random-crop',
  doc: 'Crops a window of `size` at a random position (tensorpack RandomCrop; torchvision RandomCrop without padding when include_last_offset is true).',
  params: Type.Object(
    {
      size: SizeParam(32, 'Window size.'),
      include_last_offset: Type.Boolean({
        default: false,
        description:
          'Allow the window to touch the bottom/right edge. false: tensorpack (offsets 0..H−h−1, the ε-ResNet code); true: torchvision (0..H−h, the No-Res seed).',
      }),
    },
    { additionalProperties: false },
  ),
  outputShape: sizedShape,
  build(params): Transform {
    const [h, w] = toHW(params.size);
    return {
      apply(img: FloatImage, rng) {
        const y0 = randomOffset(rng, img.height - h, params.include_last_offset);
        const x0 = randomOffset(rng, img.width - w, params.include_last_offset);
        return crop(img, y0, x0, h, w);
      },
      outputShape: (shape) => sizedShape(params, shape),
    };
  },
});
