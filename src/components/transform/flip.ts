import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { FloatImage } from '../../data/types.js';
import type { PipelineTransform } from '../../data/transform-chain.js';
import { flipHorizontal, flipVertical } from '../../data/image-ops.js';

export const flip = defineComponent({
  kind: 'transform',
  type: 'flip',
  doc: 'Mirrors the image left-right with probability `horizontal` and upside-down with probability `vertical` (two independent draws, in that order).',
  params: Type.Object(
    {
      horizontal: Type.Number({
        minimum: 0,
        maximum: 1,
        default: 0.5,
        description: 'Probability of a left-right flip.',
      }),
      vertical: Type.Number({
        minimum: 0,
        maximum: 1,
        default: 0,
        description: 'Probability of an upside-down flip (the No-Res seed uses 0.5).',
      }),
    },
    { additionalProperties: false },
  ),
  outputShape: (_params, shape) => shape,
  build(params): PipelineTransform {
    const draw = (rng: () => number) => ({
      kind: 'flip' as const,
      horizontal: rng() < params.horizontal,
      vertical: rng() < params.vertical,
    });
    return {
      fused: { kind: 'flip', draw },
      apply(img: FloatImage, rng) {
        const { horizontal, vertical } = draw(rng);
        let out = horizontal ? flipHorizontal(img) : img;
        if (vertical) out = flipVertical(out);
        return out;
      },
      outputShape: (shape) => shape,
    };
  },
});
