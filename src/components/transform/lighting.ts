import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import { channelOrderMatchesDataset } from '../../data/dataset-params.js';
import type { FloatImage, Transform } from '../../data/types.js';
import { addLighting, clip, IMAGENET_EIGVAL, IMAGENET_EIGVEC, lightingEigen } from '../../data/image-ops.js';
import { normal } from '../../data/rng.js';

export const lighting = defineComponent({
  kind: 'transform',
  type: 'lighting',
  doc: 'AlexNet PCA lighting noise on RGB images: adds eigvec · (α ∘ eigval·eigval_scale) to every pixel, α ~ N(0, std²) per component, with the ImageNet eigen-decomposition. eigval_scale 255 matches [0, 1]-scale statistics to 0..255 pixels; the ε-ResNet ImageNet code effectively used 1.',
  params: Type.Object(
    {
      std: Type.Number({ minimum: 0, default: 0.1, description: 'Standard deviation of α.' }),
      eigval: Type.Array(Type.Number(), {
        minItems: 3,
        maxItems: 3,
        default: IMAGENET_EIGVAL,
        description: 'PCA eigenvalues (ImageNet RGB, [0, 1] scale).',
      }),
      eigvec: Type.Array(Type.Array(Type.Number(), { minItems: 3, maxItems: 3 }), {
        minItems: 3,
        maxItems: 3,
        default: IMAGENET_EIGVEC,
        description: 'PCA eigenvectors as columns (rows R, G, B).',
      }),
      eigval_scale: Type.Number({
        minimum: 0,
        default: 255,
        description: 'Multiplies the eigenvalues: 255 for 0..255 pixels, 1 to reproduce the ε-ResNet ImageNet code.',
      }),
      clip: Type.Boolean({ default: false, description: 'Clip the result to [0, 255].' }),
      channel_order: Type.Union([Type.Literal('rgb'), Type.Literal('bgr')], {
        default: 'rgb',
        description:
          "Channel order of the images, as the dataset's channel_order delivers them: bgr weighs the channels as the ε-ResNet ImageNet code does on its BGR images (eigenvalues and eigenvectors reversed).",
      }),
    },
    { additionalProperties: false },
  ),
  check: (params, at, ctx) => channelOrderMatchesDataset(params.channel_order, ctx.config, at, ctx.path),
  outputShape: (_params, shape) => shape,
  build(params): Transform {
    const eigen = lightingEigen(params.eigval, params.eigvec, params.channel_order);
    const eigval = eigen.eigval.map((v) => v * params.eigval_scale);
    return {
      apply(img: FloatImage, rng) {
        if (img.channels !== 3) throw new Error(`lighting needs colour images, got ${img.channels} channels`);
        const alpha = [0, 1, 2].map(() => normal(rng) * params.std);
        const out = addLighting(img, alpha, eigval, eigen.eigvec);
        return params.clip ? clip(out) : out;
      },
      outputShape: (shape) => shape,
    };
  },
});
