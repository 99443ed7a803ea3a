import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { FloatImage, Transform } from '../../data/types.js';
import { crop } from '../../data/image-ops.js';
import { SizeParam, toHW } from '../../data/transform-params.js';

export const centerCrop = defineComponent({
  kind: 'transform',
  type: 'center-crop',
  doc: 'Crops the central window of `size`, offset ⌊(H−h)/2⌋ (tensorpack CenterCrop; the No-Res seed tests on CenterCrop(28), ImageNet validation on 224).',
  params: Type.Object({ size: SizeParam(224, 'Window size.') }, { additionalProperties: false }),
  build(params): Transform {
    const [h, w] = toHW(params.size);
    return {
      apply: (img: FloatImage) => crop(img, Math.floor((img.height - h) / 2), Math.floor((img.width - w) / 2), h, w),
      outputShape: ([, , c]) => [h, w, c],
    };
  },
});
