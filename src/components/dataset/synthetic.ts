import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { DatasetSplits } from '../../data/types.js';
import { CommonDatasetParams, splitsWithSubsets, batchFitsTrainingSet } from '../../data/dataset-params.js';
import { syntheticImages } from '../../data/synthetic.js';
import { error, type Diagnostic, type Position } from '../../util/diagnostics.js';

const { subset } = CommonDatasetParams;

/** Classes a generated set may have (ImageNet-21k has 21,841); each one's prototype is made up front. */
const MAX_CLASSES = 100_000;
/** Bytes the generated images may take in memory, both splits together. */
const MAX_BYTES = 2 ** 31;

/** The generated images are held in memory: a size that would not fit is refused at its line, not after a long wait. */
function fitsInMemory(
  p: { train_size: number; test_size: number; height: number; width: number; channels: number },
  at: (path: string) => Position | undefined,
): Diagnostic[] {
  const bytes = (p.train_size + p.test_size) * p.height * p.width * p.channels;
  if (bytes <= MAX_BYTES) return [];
  const images = (p.train_size + p.test_size).toLocaleString('en');
  return [
    error(
      `train_size + test_size: ${images} images of ${p.height}×${p.width}×${p.channels} take ${(bytes / 2 ** 20).toLocaleString('en', { maximumFractionDigits: 0 })} MB, more than the ${MAX_BYTES / 2 ** 20} MB a generated dataset may hold: use fewer or smaller images`,
      at('train_size'),
    ),
  ];
}

export const synthetic = defineComponent({
  kind: 'dataset',
  type: 'synthetic',
  doc: 'Seeded random images with learnable class structure (a smooth prototype per class, shifted and noised), for tests and smoke runs; nothing is read from disk.',
  params: Type.Object(
    {
      subset,
      num_classes: Type.Integer({ minimum: 2, maximum: MAX_CLASSES, default: 10, description: 'Number of classes.' }),
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
  imageShape: (p) => ({ shape: [p.height, p.width, p.channels], from: 'height' }),
  check: (params, at, ctx) => [
    ...batchFitsTrainingSet(params, ctx.config as { train: { batch_size: number } }, ctx.atRoot),
    ...fitsInMemory(params, at),
  ],
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
