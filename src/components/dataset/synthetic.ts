import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { DatasetSplits } from '../../data/types.js';
import { CommonDatasetParams, splitsWithSubsets, batchFitsTrainingSet } from '../../data/dataset-params.js';
import { syntheticImages } from '../../data/synthetic.js';

const { subset } = CommonDatasetParams;

export const synthetic = defineComponent({
  kind: 'dataset',
  type: 'synthetic',
  doc: 'Seeded random images with learnable class structure (a smooth prototype per class, shifted and noised), for tests and smoke runs; nothing is read from disk.',
  params: Type.Object(
    {
      subset,
      num_classes: Type.Integer({ minimum: 2, default: 10, description: 'Number of classes.' }),
      train_size: Type.Integer({ minimum: 1, default: 512, description: 'Training images.' }),
      test_size: Type.Integer({ minimum: 1, default: 128, description: 'Test images.' }),
      height: Type.Integer({ minimum: 1, default: 32, description: 'Image height.' }),
      width: Type.Integer({ minimum: 1, default: 32, description: 'Image width.' }),
      channels: Type.Integer({ minimum: 1, default: 3, description: 'Channels per pixel.' }),
      noise: Type.Number({
        minimum: 0,
        default: 24,
        description: 'Standard deviation of pixel noise (pixel units, 0..255).',
      }),
      seed: Type.Optional(
        Type.Integer({ minimum: 0, description: 'Seed of the images; the experiment seed when absent.' }),
      ),
    },
    { additionalProperties: false },
  ),
  check: (params, _at, ctx) =>
    batchFitsTrainingSet(params, ctx.config as { train: { batch_size: number } }, ctx.atRoot),
  build(params, ctx): DatasetSplits {
    const seed = params.seed ?? ctx.seed;
    const common = {
      numClasses: params.num_classes,
      shape: [params.height, params.width, params.channels] as [number, number, number],
      noise: params.noise,
      seed,
    };
    const train = syntheticImages({ ...common, size: params.train_size, split: 0 });
    const test = syntheticImages({ ...common, size: params.test_size, split: 1 });
    return splitsWithSubsets(
      { name: 'synthetic', numClasses: params.num_classes, source: `synthetic (seed ${seed})` },
      train,
      test,
      params.subset,
    );
  },
});
