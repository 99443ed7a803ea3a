import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { FloatImage } from '../../data/types.js';
import { applyGeometry, type GeometryOp } from '../../data/geometry.js';
import type { PipelineTransform } from '../../data/transform-chain.js';
import { SizeParam, sizedShape, toHW } from '../../data/transform-params.js';

export const centerCrop = defineComponent({
  kind: 'transform',
  type: 'center-crop',
  doc: 'Crops the central window of `size`, offset ⌊(H−h)/2⌋ (tensorpack CenterCrop; the No-Res seed tests on CenterCrop(28), ImageNet validation on 224).',
  params: Type.Object({ size: SizeParam(224, 'Window size.') }, { additionalProperties: false }),
  outputShape: sizedShape,
  build(params): PipelineTransform {
    const [h, w] = toHW(params.size);
    const geometry = (height: number, width: number): GeometryOp[] => [
      { op: 'crop', y: Math.floor((height - h) / 2), x: Math.floor((width - w) / 2), height: h, width: w },
    ];
    return {
      geometry,
      apply: (img: FloatImage) => applyGeometry(img, geometry(img.height, img.width)),
      outputShape: (shape) => sizedShape(params, shape),
    };
  },
});
