import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import { channelOrderMatchesDataset } from '../../data/dataset-params.js';
import type { FloatImage } from '../../data/types.js';
import type { FusedStep } from '../../data/fast-jpeg.js';
import type { PipelineTransform } from '../../data/transform-chain.js';
import {
  channelMeans,
  colorAffine,
  greyWeights,
  IMAGENET_EIGVAL,
  IMAGENET_EIGVEC,
  jitterUint8,
  lightingEigen,
  lightingOffset,
} from '../../data/image-ops.js';
import { normal, permutation, uniform } from '../../data/rng.js';
import { RangeParam } from '../../data/transform-params.js';

export const colorJitter = defineComponent({
  kind: 'transform',
  type: 'color-jitter',
  doc: 'The ε-ResNet ImageNet colour augmentation: brightness, contrast, saturation and (optionally) PCA lighting applied in a random order, then a clip to [0, 255] (tensorpack RandomOrderAug). `arithmetic: uint8` computes as tensorpack 0.2.0 does on the uint8 images cv2 reads (each step truncates back to uint8, brightness, contrast and lighting clip first, saturation wraps); `float` composes the steps in float without those casts. A zero strength turns a step off.',
  params: Type.Object(
    {
      brightness: Type.Number({
        minimum: 0,
        default: 30,
        description: 'Additive shift drawn from [−b, b], pixel units (tensorpack Brightness(30)).',
      }),
      contrast: RangeParam([0.8, 1.2], 'Contrast factor interval (tensorpack Contrast((0.8, 1.2))).'),
      saturation: Type.Number({
        minimum: 0,
        maximum: 1,
        default: 0.4,
        description: 'Saturation factor drawn from 1 ± s (tensorpack Saturation(0.4)).',
      }),
      lighting: Type.Number({
        minimum: 0,
        default: 0.1,
        description: 'Standard deviation of the PCA lighting α (0 = no lighting step).',
      }),
      lighting_eigval_scale: Type.Number({
        minimum: 0,
        default: 255,
        description:
          'Scale of the ImageNet eigenvalues: 255 for 0..255 pixels, 1 as the ε-ResNet ImageNet code effectively used.',
      }),
      clip: Type.Boolean({
        default: true,
        description:
          'Clip to [0, 255] after all steps (tensorpack Clip()); float arithmetic only (uint8 always clips).',
      }),
      arithmetic: Type.Union([Type.Literal('float'), Type.Literal('uint8')], {
        default: 'float',
        description:
          "uint8: tensorpack 0.2.0's arithmetic on uint8 images (dataflow/imgaug/imgproc.py): the image is rounded to uint8 first (as cv2.resize returns it), Brightness and Contrast compute in float32 and clip, Saturation blends with cv2's fixed-point grey and casts without clipping (values wrap), Lighting clips, every cast truncates. float: the steps composed into one affine map in float.",
      }),
      channel_order: Type.Union([Type.Literal('rgb'), Type.Literal('bgr')], {
        default: 'rgb',
        description:
          "Channel order of the images, as the dataset's channel_order delivers them: bgr weighs the channels as the ε-ResNet ImageNet code does on its BGR images (BGR grey for saturation, eigenvalues and eigenvectors reversed).",
      }),
    },
    { additionalProperties: false },
  ),
  check: (params, at, ctx) => channelOrderMatchesDataset(params.channel_order, ctx.config, at, ctx.path),
  outputShape: (_params, shape) => shape,
  build(params): PipelineTransform {
    const eigen = lightingEigen(IMAGENET_EIGVAL, IMAGENET_EIGVEC, params.channel_order);
    const eigval = eigen.eigval.map((v) => v * params.lighting_eigval_scale);
    // tensorpack holds the eigenvectors as float32 (np.array(..., dtype='float32'), imagenetEpsilonResnet.py:215-222).
    const eigvec = params.arithmetic === 'uint8' ? eigen.eigvec.map((r) => r.map(Math.fround)) : eigen.eigvec;
    const grey = greyWeights(params.channel_order);
    const uint8 = params.arithmetic === 'uint8';
    // As tensorpack: the order first, then every step's parameters in list order, then the steps in that order.
    const draw = (rng: () => number): Extract<FusedStep, { kind: 'jitter' }> => {
      const order = permutation(4, rng);
      const shift = uniform(rng, -params.brightness, params.brightness);
      const factor = uniform(rng, params.contrast[0], params.contrast[1]);
      const sat = 1 + uniform(rng, -params.saturation, params.saturation);
      const alpha = [0, 1, 2].map(() => normal(rng) * params.lighting);
      return {
        kind: 'jitter',
        order,
        brightness: params.brightness > 0 ? shift : null,
        contrast: factor,
        saturation: params.saturation > 0 ? sat : null,
        lighting: params.lighting > 0 ? lightingOffset(alpha, eigval, eigvec) : null,
        grey,
        clip: params.clip,
      };
    };
    return {
      fused: { kind: 'jitter', arithmetic: params.arithmetic, draw },
      apply(img: FloatImage, rng) {
        if (img.channels !== 3) throw new Error(`color-jitter needs colour images, got ${img.channels} channels`);
        const step = draw(rng);
        if (uint8) return jitterUint8(img, step);
        // Each step maps a pixel x to A·x + b, so the four compose into one map applied in one pass; contrast's channel
        // means are those of the image as the earlier steps leave it, which the map so far carries the input's means to.
        const means = channelMeans(img);
        let A = [1, 0, 0, 0, 1, 0, 0, 0, 1];
        let b = [0, 0, 0];
        for (const k of Array.from(step.order)) {
          if (k === 0 && step.brightness !== null) b = b.map((v) => v + step.brightness!);
          if (k === 1) {
            const m = [0, 1, 2].map(
              (r) => A[3 * r] * means[0] + A[3 * r + 1] * means[1] + A[3 * r + 2] * means[2] + b[r],
            );
            A = A.map((v) => v * step.contrast);
            b = b.map((v, r) => v * step.contrast + (1 - step.contrast) * m[r]);
          }
          if (k === 2 && step.saturation !== null) {
            const sat = step.saturation;
            const S = [0, 1, 2].flatMap((r) => [0, 1, 2].map((c) => (r === c ? sat : 0) + (1 - sat) * grey[c]));
            A = [0, 1, 2].flatMap((r) =>
              [0, 1, 2].map((c) => S[3 * r] * A[c] + S[3 * r + 1] * A[3 + c] + S[3 * r + 2] * A[6 + c]),
            );
            b = [0, 1, 2].map((r) => S[3 * r] * b[0] + S[3 * r + 1] * b[1] + S[3 * r + 2] * b[2]);
          }
          if (k === 3 && step.lighting !== null) b = b.map((v, r) => v + step.lighting![r]);
        }
        return colorAffine(img, A, b, params.clip);
      },
      outputShape: (shape) => shape,
    };
  },
});
