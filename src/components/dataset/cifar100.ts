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

const SOURCE: DatasetSource = {
  name: 'cifar100',
  title: 'CIFAR-100 (binary version)',
  files: [['train.bin'], ['test.bin']],
  subdirs: ['cifar-100-binary'],
  download: {
    kind: 'tar.gz',
    url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
    md5: '03b5dce01913d631647c71ecec9e9cb8',
  },
  howTo:
    'download and extract https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz (the binary version) into the cache folder above (or set $EPSILAB_DATA), or name its folder with `path:`.',
};

export const cifar100 = defineComponent({
  kind: 'dataset',
  type: 'cifar100',
  doc: 'CIFAR-100: 50,000 training and 10,000 test 32×32 colour images, from the binary version (train.bin, test.bin; a coarse and a fine label byte per record).',
  params: Type.Object(
    {
      ...CommonDatasetParams,
      ...ChannelOrderParam,
      ...DownloadParam,
      label: Type.Union([Type.Literal('fine'), Type.Literal('coarse')], {
        default: 'fine',
        description: 'fine: 100 classes (the papers use these); coarse: 20 superclasses.',
      }),
    },
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
    const labelIndex = params.label === 'fine' ? 1 : 0;
    const numClasses = params.label === 'fine' ? 100 : 20;
    const train = readCifarBinary([found.files[0]], 2, labelIndex, numClasses);
    const test = readCifarBinary([found.files[1]], 2, labelIndex, numClasses);
    return colourSplits({ name: 'cifar100', numClasses, source: found.dir }, train, test, params);
  },
});
