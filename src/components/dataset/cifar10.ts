import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { DatasetSplits } from '../../data/types.js';
import { readCifarBinary, CIFAR_SHAPE } from '../../data/cifar-binary.js';
import {
  batchFitsTrainingSet,
  ChannelOrderParam,
  colourSplits,
  CommonDatasetParams,
  DownloadParam,
} from '../../data/dataset-params.js';
import { locateDataset, type DatasetSource } from '../../data/locate.js';

const TRAIN = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);

const SOURCE: DatasetSource = {
  name: 'cifar10',
  title: 'CIFAR-10 (binary version)',
  files: [...TRAIN, 'test_batch.bin'].map((f) => [f]),
  subdirs: ['cifar-10-batches-bin'],
  download: {
    kind: 'tar.gz',
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
  },
  howTo:
    'download and extract https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (the binary version) into the cache folder above (or set $EPSILAB_DATA), or name its folder with `path:`.',
};

export const cifar10 = defineComponent({
  kind: 'dataset',
  type: 'cifar10',
  doc: 'CIFAR-10: 50,000 training and 10,000 test 32×32 colour images of 10 classes, from the binary version (data_batch_1..5.bin, test_batch.bin).',
  params: Type.Object(
    { ...CommonDatasetParams, ...ChannelOrderParam, ...DownloadParam },
    { additionalProperties: false },
  ),
  imageShape: () => ({ shape: CIFAR_SHAPE, from: 'type' }),
  check: (params, _at, ctx) =>
    batchFitsTrainingSet(params, ctx.config as { train: { batch_size: number } }, ctx.atRoot),
  async build(params, ctx): Promise<DatasetSplits> {
    const found = await locateDataset(SOURCE, {
      path: params.path,
      configDir: ctx.configDir,
      download: params.download,
      log: ctx.log,
    });
    const train = readCifarBinary(found.files.slice(0, 5), 1, 0, 10);
    const test = readCifarBinary(found.files.slice(5), 1, 0, 10);
    return colourSplits({ name: 'cifar10', numClasses: 10, source: found.dir }, train, test, params);
  },
});
