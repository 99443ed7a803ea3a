import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { FloatImage, ImageSet } from '../../data/types.js';
import type { PipelineTransform } from '../../data/transform-chain.js';

export const perPixelMean = defineComponent({
  kind: 'transform',
  type: 'per-pixel-mean',
  doc: 'Subtracts the mean image (one value per pixel and channel) and divides by `scale`: the ε-ResNet CIFAR/SVHN input, (x − mean)/128, with the mean over train and test images as tensorpack computes it.',
  params: Type.Object(
    {
      over: Type.Union([Type.Literal('train+test'), Type.Literal('train')], {
        default: 'train+test',
        description: 'Images the mean is taken over: train+test as tensorpack does, or the training split only.',
      }),
      scale: Type.Number({
        exclusiveMinimum: 0,
        default: 128,
        description: 'Divisor applied after subtracting the mean (the ε-ResNet model divides by 128).',
      }),
    },
    { additionalProperties: false },
  ),
  outputShape: (_params, shape) => shape,
  build(params): PipelineTransform {
    let mean: Float32Array | null = null;
    let meanShape = '';
    return {
      fitScope: params.over,
      fit(set: ImageSet) {
        const first = set.image(0);
        const sum = new Float64Array(first.data.length);
        meanShape = [first.height, first.width, first.channels].join('×');
        for (let i = 0; i < set.size; i++) {
          const img = set.image(i);
          if (img.data.length !== sum.length)
            throw new Error(
              `per-pixel-mean needs images of one shape; image ${i} is ${img.height}×${img.width}×${img.channels}, not ${meanShape}`,
            );
          for (let k = 0; k < sum.length; k++) sum[k] += img.data[k];
        }
        mean = Float32Array.from(sum, (v) => v / set.size);
      },
      fitState: () => ({ mean, meanShape }),
      loadFitState(state) {
        ({ mean, meanShape } = state as { mean: Float32Array; meanShape: string });
      },
      apply(img: FloatImage): FloatImage {
        if (!mean) throw new Error('per-pixel-mean used before it was fitted');
        if (img.data.length !== mean.length)
          throw new Error(
            `per-pixel-mean was fitted on ${meanShape} images, got ${img.height}×${img.width}×${img.channels}`,
          );
        const m = mean;
        return { ...img, data: img.data.map((v, k) => (v - m[k]) / params.scale) };
      },
      outputShape: (shape) => shape,
    };
  },
});
