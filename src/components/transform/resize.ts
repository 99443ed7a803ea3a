import { Type } from '@sinclair/typebox';
import { defineComponent, type ImageShape } from '../../registry/component.js';
import type { FloatImage } from '../../data/types.js';
import { applyGeometry, type GeometryOp } from '../../data/geometry.js';
import type { PipelineTransform } from '../../data/transform-chain.js';

/** The shorter side becomes `shorter_side`, the longer one keeps the aspect ratio (rounded down). */
function resizedShape({ shorter_side: s }: { shorter_side: number }, [h, w, c]: ImageShape): ImageShape {
  return h <= w ? [s, Math.floor((s * w) / h), c] : [Math.floor((s * h) / w), s, c];
}

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
  outputShape: resizedShape,
  build(params): PipelineTransform {
    const geometry = (h: number, w: number): GeometryOp[] => {
      const [height, width] = resizedShape(params, [h, w, 0]);
      return [{ op: 'resize', height, width, interpolation: params.interpolation }];
    };
    return {
      geometry,
      apply: (img: FloatImage) => applyGeometry(img, geometry(img.height, img.width)),
      outputShape: (shape) => resizedShape(params, shape),
    };
  },
});
