import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { FloatImage, Transform } from '../../data/types.js';
import { resize } from '../../data/image-ops.js';

export const resizeTransform = defineComponent({
  kind: 'transform',
  type: 'resize',
  doc: 'Scales the image so its shorter side is `shorter_side`, keeping the aspect ratio (longer side rounded down), as tensorpack ResizeShortestEdge: the ImageNet validation step before centre-crop 224.',
  params: Type.Object(
    {
      shorter_side: Type.Integer({ minimum: 1, default: 256, description: 'Length of the shorter side after resizing.' }),
      interpolation: Type.Union([Type.Literal('linear'), Type.Literal('cubic')], { default: 'linear', description: 'Resampling (OpenCV semantics).' }),
    },
    { additionalProperties: false },
  ),
  build(params): Transform {
    const s = params.shorter_side;
    const target = (h: number, w: number): [number, number] => (h <= w ? [s, Math.floor((s * w) / h)] : [Math.floor((s * h) / w), s]);
    return {
      apply(img: FloatImage) {
        const [h, w] = target(img.height, img.width);
        return resize(img, h, w, params.interpolation);
      },
      outputShape: ([h, w, c]) => [...target(h, w), c],
    };
  },
});
