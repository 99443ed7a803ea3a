import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { DatasetSplits } from '../../data/types.js';
import {
  batchFitsTrainingSet,
  ChannelOrderParam,
  colourSplits,
  CommonDatasetParams,
  DownloadParam,
} from '../../data/dataset-params.js';
import { locateDataset, type DatasetSource } from '../../data/locate.js';
import { readSvhnMat, svhnImageSet, SVHN_SHAPE } from '../../data/svhn-mat.js';

const BASE = 'http://ufldl.stanford.edu/housenumbers/';
const MD5: Record<string, string> = {
  'train_32x32.mat': 'e26dedcc434d2e4c54c9b2d4a06d8373',
  'test_32x32.mat': 'eb5a983be6a315427106f1b164d9cef3',
  'extra_32x32.mat': 'a93ce644f1a588dc4d68dda5feec44a7',
};

function source(files: string[]): DatasetSource {
  return {
    name: 'svhn',
    title: 'SVHN cropped digits',
    files: files.map((f) => [f]),
    download: { kind: 'files', bases: [BASE], md5: MD5 },
    howTo: `put ${files.join(', ')} from ${BASE} into the cache folder above (or set $EPSILAB_DATA), or name their folder with \`path:\`.`,
  };
}

export const svhn = defineComponent({
  kind: 'dataset',
  type: 'svhn',
  doc: 'SVHN cropped digits (Format 2): 32×32 colour images from the MATLAB files train_32x32.mat (73,257), extra_32x32.mat (531,131) and test_32x32.mat (26,032); label 10 stands for digit 0.',
  params: Type.Object(
    {
      ...CommonDatasetParams,
      ...ChannelOrderParam,
      ...DownloadParam,
      use_extra: Type.Boolean({
        default: true,
        description: 'Train on train+extra (604,388 images), as the ε-ResNet SVHN runs do.',
      }),
    },
    { additionalProperties: false },
  ),
  imageShape: () => ({ shape: SVHN_SHAPE, from: 'type' }),
  check: (params, _at, ctx) =>
    batchFitsTrainingSet(params, ctx.config as { train: { batch_size: number } }, ctx.atRoot),
  async build(params, ctx): Promise<DatasetSplits> {
    const names = ['train_32x32.mat', 'test_32x32.mat', ...(params.use_extra ? ['extra_32x32.mat'] : [])];
    const found = await locateDataset(source(names), {
      path: params.path,
      configDir: ctx.configDir,
      download: params.download,
      log: ctx.log,
    });
    const [trainFile, testFile, extraFile] = found.files;
    const train = svhnImageSet(extraFile ? [readSvhnMat(trainFile), readSvhnMat(extraFile)] : [readSvhnMat(trainFile)]);
    const test = svhnImageSet([readSvhnMat(testFile)]);
    return colourSplits({ name: 'svhn', numClasses: 10, source: found.dir }, train, test, params);
  },
});
