import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { FloatImage, Transform } from '../../data/types.js';
import { addBrightness, addLighting, adjustContrast, clip, IMAGENET_EIGVAL, IMAGENET_EIGVEC, saturate } from '../../data/image-ops.js';
import { normal, permutation, uniform } from '../../data/rng.js';
import { RangeParam } from '../../data/transform-params.js';

export const colorJitter = defineComponent({
  kind: 'transform',
  type: 'color-jitter',
  doc: 'The ε-ResNet ImageNet colour augmentation: brightness, contrast, saturation and (optionally) PCA lighting applied in a random order, then a clip to [0, 255] (tensorpack RandomOrderAug; computed in float without the original’s uint8 casts). A zero strength turns a step off.',
  params: Type.Object(
    {
      brightness: Type.Number({ minimum: 0, default: 30, description: 'Additive shift drawn from [−b, b], pixel units (tensorpack Brightness(30)).' }),
      contrast: RangeParam([0.8, 1.2], 'Contrast factor interval (tensorpack Contrast((0.8, 1.2))).'),
      saturation: Type.Number({ minimum: 0, maximum: 1, default: 0.4, description: 'Saturation factor drawn from 1 ± s (tensorpack Saturation(0.4)).' }),
      lighting: Type.Number({ minimum: 0, default: 0.1, description: 'Standard deviation of the PCA lighting α (0 = no lighting step).' }),
      lighting_eigval_scale: Type.Number({ minimum: 0, default: 255, description: 'Scale of the ImageNet eigenvalues: 255 for 0..255 pixels, 1 as the ε-ResNet ImageNet code effectively used.' }),
      clip: Type.Boolean({ default: true, description: 'Clip to [0, 255] after all steps (tensorpack Clip()).' }),
    },
    { additionalProperties: false },
  ),
  build(params): Transform {
    const eigval = IMAGENET_EIGVAL.map((v) => v * params.lighting_eigval_scale);
    return {
      apply(img: FloatImage, rng) {
        if (img.channels !== 3) throw new Error(`color-jitter needs RGB images, got ${img.channels} channels`);
        // As tensorpack: the order first, then every step's parameters in list order, then the steps in that order.
        const order = permutation(4, rng);
        const shift = uniform(rng, -params.brightness, params.brightness);
        const factor = uniform(rng, params.contrast[0], params.contrast[1]);
        const sat = 1 + uniform(rng, -params.saturation, params.saturation);
        const alpha = [0, 1, 2].map(() => normal(rng) * params.lighting);
        const steps = [
          (x: FloatImage) => (params.brightness > 0 ? addBrightness(x, shift) : x),
          (x: FloatImage) => adjustContrast(x, factor),
          (x: FloatImage) => (params.saturation > 0 ? saturate(x, sat) : x),
          (x: FloatImage) => (params.lighting > 0 ? addLighting(x, alpha, eigval, IMAGENET_EIGVEC) : x),
        ];
        const out = Array.from(order).reduce((x, k) => steps[k](x), img);
        return params.clip ? clip(out) : out;
      },
      outputShape: (shape) => shape,
    };
  },
});
