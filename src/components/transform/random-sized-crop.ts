import { Type } from '@sinclair/typebox';
import { defineComponent, type ImageShape } from '../../registry/component.js';
import type { FloatImage } from '../../data/types.js';
import { applyGeometry, type GeometryOp } from '../../data/geometry.js';
import type { PipelineTransform } from '../../data/transform-chain.js';
import { randint, uniform } from '../../data/rng.js';
import { RangeParam } from '../../data/transform-params.js';

/** Every image leaves as a `size`×`size` square. */
const squareShape = ({ size }: { size: number }, [, , c]: ImageShape): ImageShape => [size, size, c];

export const randomSizedCrop = defineComponent({
  kind: 'transform',
  type: 'random-sized-crop',
  doc: 'GoogLeNet-style crop as the ε-ResNet ImageNet code does it: up to `attempts` tries of a window with a random share of the area and aspect ratio (sides swapped with probability ½), resized to size×size; if no try fits, the whole image is resized.',
  params: Type.Object(
    {
      size: Type.Integer({ minimum: 1, default: 224, description: 'Output side length.' }),
      area: RangeParam([0.08, 1], 'Share of the image area the window covers, drawn uniformly.'),
      aspect: RangeParam([0.75, 1.333], 'Width/height ratio of the window, drawn uniformly.'),
      attempts: Type.Integer({ minimum: 1, default: 10, description: 'Tries before falling back to the whole image.' }),
      interpolation: Type.Union([Type.Literal('cubic'), Type.Literal('linear')], {
        default: 'cubic',
        description: 'Resampling (OpenCV semantics; the original uses cubic).',
      }),
    },
    { additionalProperties: false },
  ),
  outputShape: squareShape,
  build(params): PipelineTransform {
    const { size, interpolation } = params;
    const geometry = (h: number, w: number, rng: () => number): GeometryOp[] => {
      const whole: GeometryOp = { op: 'resize', height: size, width: size, interpolation };
      for (let i = 0; i < params.attempts; i++) {
        const target = uniform(rng, params.area[0], params.area[1]) * h * w;
        const ratio = uniform(rng, params.aspect[0], params.aspect[1]);
        let ww = Math.floor(Math.sqrt(target * ratio));
        let hh = Math.floor(Math.sqrt(target / ratio));
        if (rng() < 0.5) [ww, hh] = [hh, ww];
        if (hh <= h && ww <= w && hh > 0 && ww > 0) {
          const x = w === ww ? 0 : randint(rng, w - ww);
          const y = h === hh ? 0 : randint(rng, h - hh);
          return [{ op: 'crop', x, y, width: ww, height: hh }, whole];
        }
      }
      return [whole];
    };
    return {
      geometry,
      apply: (img: FloatImage, rng) => applyGeometry(img, geometry(img.height, img.width, rng)),
      outputShape: (shape) => squareShape(params, shape),
    };
  },
});
