import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { FloatImage, Transform } from '../../data/types.js';
import { centerPaste } from '../../data/image-ops.js';
import { SizeParam, sizedShape, toHW } from '../../data/transform-params.js';

export const centerPasteTransform = defineComponent({
  kind: 'transform',
  type: 'center-paste',
  doc: 'Pastes the image at the centre of a larger canvas of constant colour (tensorpack CenterPaste; 32→40 is the ε-ResNet 4-pixel black border before random-crop).',
  params: Type.Object(
    {
      size: SizeParam(40, 'Canvas size; the image must fit inside.'),
      fill: Type.Number({ default: 0, description: 'Canvas value in pixel units (0 = black).' }),
    },
    { additionalProperties: false },
  ),
  outputShape: sizedShape,
  build(params): Transform {
    const [h, w] = toHW(params.size);
    return {
      apply: (img: FloatImage) => centerPaste(img, h, w, params.fill),
      outputShape: (shape) => sizedShape(params, shape),
    };
  },
});
