import { Type, type Static } from '@sinclair/typebox';
import { error, type Diagnostic, type Position } from '../util/diagnostics.js';
import type { DatasetSplits, ImageSet } from './types.js';
import { bgrImageSet, selectImages } from './image-set.js';

const SubsetRule = Type.Union(
  [
    Type.Object(
      { first: Type.Integer({ minimum: 1, description: 'Keep the first N images in file order.' }) },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        per_class: Type.Integer({
          minimum: 1,
          description: 'Keep the first N images of each class in file order (class-balanced).',
        }),
      },
      { additionalProperties: false },
    ),
  ],
  { description: '{first: N} or {per_class: N}.' },
);
export type SubsetRule = Static<typeof SubsetRule>;

/** Parameters every dataset component shares. */
export const CommonDatasetParams = {
  path: Type.Optional(
    Type.String({
      description:
        'Folder with the dataset files; relative to the config file, else to the project. When set, no other place is searched.',
    }),
  ),
  subset: Type.Object(
    {
      train: Type.Optional(SubsetRule),
      test: Type.Optional(SubsetRule),
    },
    {
      additionalProperties: false,
      default: {},
      description: 'Reduced-scale runs: which images of each split to keep.',
    },
  ),
};

/** For datasets with an official download location. */
export const DownloadParam = {
  download: Type.Boolean({
    default: true,
    description:
      'When the files are nowhere local, download them from the official location into the cache (checked by MD5).',
  }),
};

/** The images a subset rule keeps, in their original order. */
export function applySubset(set: ImageSet, rule: SubsetRule | undefined): ImageSet {
  if (!rule) return set;
  let indices: number[];
  if ('first' in rule) {
    indices = Array.from({ length: Math.min(rule.first, set.size) }, (_, i) => i);
  } else {
    const taken = new Map<number, number>();
    indices = [];
    for (let i = 0; i < set.size; i++) {
      const label = set.labels[i];
      const n = taken.get(label) ?? 0;
      if (n < rule.per_class) {
        indices.push(i);
        taken.set(label, n + 1);
      }
    }
  }
  return indices.length === set.size ? set : selectImages(set, Int32Array.from(indices));
}

/** Assembles what a dataset component returns, with its subsets applied. */
export function splitsWithSubsets(
  base: Omit<DatasetSplits, 'train' | 'test'>,
  train: ImageSet,
  test: ImageSet,
  subset: { train?: SubsetRule; test?: SubsetRule },
): DatasetSplits {
  return { ...base, train: applySubset(train, subset.train), test: applySubset(test, subset.test) };
}

/**
 * The training-set size a dataset section fixes before any data is read, with the path that fixes it: a `subset` of N
 * (or `subset.train` of N or `{first: N}`) or a generated set's `train_size`; the smallest when several do.
 */
export function knownTrainSize(dataset: Record<string, any>): { size: number; from: string } | undefined {
  const train = dataset.subset?.train;
  const candidates: [unknown, string][] = [
    [dataset.subset, 'dataset.subset'],
    [train, 'dataset.subset.train'],
    [train?.first, 'dataset.subset.train.first'],
    [dataset.train_size, 'dataset.train_size'],
  ];
  const known = candidates
    .filter((c): c is [number, string] => typeof c[0] === 'number')
    .map(([size, from]) => ({ size, from }));
  return known.sort((a, b) => a.size - b.size)[0];
}

/**
 * A dataset's check of the training batches it feeds: the batch must fit the training set it keeps (else not one full
 * batch per epoch), and with train.towers every batch must split into that many equal groups (tensorpack's
 * BatchData(remainder=False) gives each tower a full batch).
 */
export function batchFitsTrainingSet(
  dataset: Record<string, any>,
  config: { train: { batch_size: number; towers?: number; drop_remainder?: boolean } },
  atRoot: (path: string) => Position | undefined,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const { batch_size: batch, towers = 1, drop_remainder: dropRemainder = true } = config.train;
  const known = knownTrainSize(dataset);
  if (known && batch > known.size)
    out.push(
      error(
        `train.batch_size (${batch}) is larger than the training set (${known.from} = ${known.size} images): not one full batch per epoch`,
        atRoot('train.batch_size'),
      ),
    );
  if (towers > 1 && batch % towers !== 0)
    out.push(
      error(
        `train.batch_size (${batch}) must split into train.towers (${towers}) equal groups: use a multiple of ${towers}`,
        atRoot('train.batch_size'),
      ),
    );
  if (towers > 1 && !dropRemainder)
    out.push(
      error(
        `train.towers (${towers}) needs train.drop_remainder: true, so the last batch of an epoch splits equally too`,
        atRoot('train.drop_remainder'),
      ),
    );
  return out;
}

/** Colour datasets: the channel order images are delivered in. */
export const ChannelOrderParam = {
  channel_order: Type.Optional(
    Type.Union([Type.Literal('rgb'), Type.Literal('bgr')], {
      description:
        'Channel order of the images the transforms and the model see (left out: rgb). bgr is what the ε-ResNet ImageNet code feeds its network (cv2.imread), normalised with RGB-ordered mean/std (imagenetEpsilonResnet.py:45-49); colour transforms that weigh channels take the same channel_order.',
    }),
  ),
};
export type ChannelOrder = 'rgb' | 'bgr';

/** Assembles what a colour dataset component returns: subsets applied, then channels reordered when asked. */
export function colourSplits(
  base: Omit<DatasetSplits, 'train' | 'test'>,
  train: ImageSet,
  test: ImageSet,
  params: { subset: { train?: SubsetRule; test?: SubsetRule }; channel_order?: ChannelOrder },
): DatasetSplits {
  const splits = splitsWithSubsets(base, train, test, params.subset);
  return params.channel_order === 'bgr'
    ? { ...splits, train: bgrImageSet(splits.train), test: bgrImageSet(splits.test) }
    : splits;
}

/** A colour transform's check: the channel order it weighs channels by must be the one the dataset delivers. */
export function channelOrderMatchesDataset(
  order: ChannelOrder,
  config: Record<string, any>,
  at: (path: string) => Position | undefined,
  path: string,
): Diagnostic[] {
  const dataset: ChannelOrder = config.dataset?.channel_order ?? 'rgb';
  if (order === dataset) return [];
  return [
    error(
      `${path}.channel_order is ${order} but dataset.channel_order is ${dataset}: set both to the same order (bgr as the ε-ResNet ImageNet code, rgb for the clean choice)`,
      at('channel_order'),
    ),
  ];
}
