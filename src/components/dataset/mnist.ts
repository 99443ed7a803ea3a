import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { DatasetSplits } from '../../data/types.js';
import {
  CommonDatasetParams,
  DownloadParam,
  splitsWithSubsets,
  batchFitsTrainingSet,
} from '../../data/dataset-params.js';
import { IDX_FILES, readIdxDataset } from '../../data/idx-dataset.js';
import { locateDataset, type DatasetSource } from '../../data/locate.js';

const SOURCE: DatasetSource = {
  name: 'mnist',
  title: 'MNIST',
  files: IDX_FILES,
  download: {
    kind: 'files',
    // LeCun's site first, then the mirror PyTorch uses; the published MD5s identify the same files on both.
    bases: ['https://yann.lecun.com/exdb/mnist/', 'https://ossci-datasets.s3.amazonaws.com/mnist/'],
    md5: {
      'train-images-idx3-ubyte.gz': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
      'train-labels-idx1-ubyte.gz': 'd53e105ee54ea40749a09fcbcd1e9432',
      't10k-images-idx3-ubyte.gz': '9fb629c4189551a2d022fa330f9573f3',
      't10k-labels-idx1-ubyte.gz': 'ec29112dd5afa0611ce80d1b7f02629c',
    },
  },
  howTo:
    'put the four *-ubyte.gz files from http://yann.lecun.com/exdb/mnist/ into the cache folder above (or set $EPSILAB_DATA), or name their folder with `path:`.',
};

const CLASSES = 10;

export const mnist = defineComponent({
  kind: 'dataset',
  type: 'mnist',
  doc: 'MNIST handwritten digits: 60,000 training and 10,000 test 28×28 grey images, read from the original IDX files.',
  params: Type.Object({ ...CommonDatasetParams, ...DownloadParam }, { additionalProperties: false }),
  check: (params, _at, ctx) =>
    batchFitsTrainingSet(params, ctx.config as { train: { batch_size: number } }, ctx.atRoot),
  async build(params, ctx): Promise<DatasetSplits> {
    const found = await locateDataset(SOURCE, {
      path: params.path,
      configDir: ctx.configDir,
      download: params.download,
      log: ctx.log,
    });
    const { train, test } = readIdxDataset(found.files, CLASSES);
    return splitsWithSubsets({ name: 'mnist', numClasses: CLASSES, source: found.dir }, train, test, params.subset);
  },
});
