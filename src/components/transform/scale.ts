import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { FloatImage, Transform } from '../../data/types.js';

export const scale = defineComponent({
  kind: 'transform',
  type: 'scale',
  doc: 'Divides pixel values by `divisor` (255 maps bytes to [0, 1]). Put normalising transforms last: augmentations work in pixel units 0..255.',
  params: Type.Object(
    {
      divisor: Type.Number({ exclusiveMinimum: 0, default: 255, description: 'x ← x / divisor.' }),
    },
    { additionalProperties: false },
  ),
  outputShape: (_params, shape) => shape,
  build(params): Transform {
    return {
      apply: (img: FloatImage) => ({ ...img, data: img.data.map((v) => v / params.divisor) }),
      outputShape: (shape) => shape,
    };
  },
});
