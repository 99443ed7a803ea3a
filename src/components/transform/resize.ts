import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { FloatImage } from '../../data/types.js';
import { applyGeometry, type GeometryOp } from '../../data/geometry.js';
import type { PipelineTransform } from '../../data/transform-chain.js';

export const resizeTransform = defineComponent({
  kind: 'transform',
  type: 'resize',
  doc: 'Scales the image so its shorter side is `shorter_side`, keeping the aspect ratio (longer side rounded down), as tensorpack ResizeShortestEdge: the ImageNet validation step before centre-crop 224.',
  params: Type.Object(
    {
      shorter_side: Type.Integer({
        minimum: 1,
        default: 256,
        description: 'Length of the shorter side after resizing.',
      }),
      interpolation: Type.Union([Type.Literal('linear'), Type.Literal('cubic')], {
        default: 'linear',
        description: 'Resampling (OpenCV semantics).',
      }),
    },
    { additionalProperties: false },
  ),
  build(params): PipelineTransform {
    const s = params.shorter_side;
    const target = (h: number, w: number): [number, number] =>
      h <= w ? [s, Math.floor((s * w) / h)] : [Math.floor((s * h) / w), s];
    const geometry = (h: number, w: number): GeometryOp[] => {
      const [height, width] = target(h, w);
      return [{ op: 'resize', height, width, interpolation: params.interpolation }];
    };
    return {
      geometry,
      apply: (img: FloatImage) => applyGeometry(img, geometry(img.height, img.width)),
      outputShape: ([h, w, c]) => [...target(h, w), c],
    };
  },
});
