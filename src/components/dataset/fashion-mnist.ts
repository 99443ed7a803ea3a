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
  name: 'fashion-mnist',
  title: 'Fashion-MNIST',
  files: IDX_FILES,
  system: ['/usr/share/datasets/fashion-mnist'],
  download: {
    kind: 'files',
    bases: ['https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/'],
    md5: {
      'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
      't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
      't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
    },
  },
  howTo:
    'on Debian or Ubuntu `apt-get install dataset-fashion-mnist`; or put the four *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist into the cache folder above (or set $EPSILAB_DATA), or name their folder with `path:`.',
};

const CLASSES = 10;

export const fashionMnist = defineComponent({
  kind: 'dataset',
  type: 'fashion-mnist',
  doc: 'Fashion-MNIST (Zalando Research, MIT licence): 60,000 training and 10,000 test 28×28 grey images of 10 clothing classes, read from the original IDX files. `path: data/fashion-mnist-subset` is the 6,000/1,000-image subset that ships with epsilab.',
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
    return splitsWithSubsets(
      { name: 'fashion-mnist', numClasses: CLASSES, source: found.dir },
      train,
      test,
      params.subset,
    );
  },
});
