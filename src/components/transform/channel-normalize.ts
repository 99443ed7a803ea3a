import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { FloatImage, ImageSet } from '../../data/types.js';
import type { PipelineTransform } from '../../data/transform-chain.js';

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

export const channelNormalize = defineComponent({
  kind: 'transform',
  type: 'channel-normalize',
  doc: 'Per-channel standardisation as torchvision ToTensor + Normalize: x ← (x/pixel_max − mean[c]) / std[c]. Defaults are the ImageNet statistics (the No-Res seed and the ε-ResNet ImageNet runs use them); `compute: true` measures them on the training split instead.',
  params: Type.Object(
    {
      mean: Type.Array(Type.Number(), {
        minItems: 1,
        default: IMAGENET_MEAN,
        description:
          'Channel means in units of x/pixel_max (one value applies to every channel). Default: ImageNet RGB.',
      }),
      std: Type.Array(Type.Number({ exclusiveMinimum: 0 }), {
        minItems: 1,
        default: IMAGENET_STD,
        description: 'Channel standard deviations in units of x/pixel_max. Default: ImageNet RGB.',
      }),
      compute: Type.Boolean({
        default: false,
        description: 'Measure mean and std per channel on the training split (replaces mean and std).',
      }),
      pixel_max: Type.Number({
        exclusiveMinimum: 0,
        default: 255,
        description: 'Divisor bringing pixels to [0, 1] first (set 1 if an earlier transform already scaled them).',
      }),
    },
    { additionalProperties: false },
  ),
  outputShape: (_params, shape) => shape,
  build(params): PipelineTransform {
    let mean = params.mean;
    let std = params.std;
    /** (v/pixel_max − m)/s as one multiply-add per value. */
    const affine = (c: number) => {
      if ((mean.length !== 1 && mean.length !== c) || (std.length !== 1 && std.length !== c)) {
        throw new Error(`channel-normalize has ${mean.length} means and ${std.length} stds for ${c}-channel images`);
      }
      const scale = Array.from({ length: c }, (_, k) => 1 / (params.pixel_max * std[std.length === 1 ? 0 : k]));
      const offset = Array.from(
        { length: c },
        (_, k) => -mean[mean.length === 1 ? 0 : k] / std[std.length === 1 ? 0 : k],
      );
      return { scale, offset };
    };
    const t: PipelineTransform = {
      fused: { kind: 'normalize', draw: (_rng, c) => ({ kind: 'normalize', ...affine(c) }) },
      apply(img: FloatImage): FloatImage {
        const c = img.channels;
        const { scale, offset } = affine(c);
        const data = new Float32Array(img.data.length);
        for (let i = 0; i < data.length; i += c)
          for (let k = 0; k < c; k++) data[i + k] = img.data[i + k] * scale[k] + offset[k];
        return { ...img, data };
      },
      outputShape: (shape) => shape,
    };
    if (!params.compute) return t;
    return {
      ...t,
      fit(set: ImageSet) {
        const c = set.image(0).channels;
        const sum = new Float64Array(c);
        const sq = new Float64Array(c);
        let n = 0;
        for (let i = 0; i < set.size; i++) {
          const data = set.image(i).data;
          for (let k = 0; k < data.length; k++) {
            const v = data[k] / params.pixel_max;
            sum[k % c] += v;
            sq[k % c] += v * v;
          }
          n += data.length / c;
        }
        mean = Array.from(sum, (v) => v / n);
        std = Array.from(sq, (v, k) => Math.sqrt(Math.max(v / n - mean[k] ** 2, 1e-12)));
      },
      fitState: () => ({ mean, std }),
      loadFitState(state) {
        ({ mean, std } = state as { mean: number[]; std: number[] });
      },
    };
  },
});
