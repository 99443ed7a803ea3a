import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { DatasetSplits } from '../../data/types.js';
import {
  batchFitsTrainingSet,
  ChannelOrderParam,
  colourSplits,
  CommonDatasetParams,
} from '../../data/dataset-params.js';
import { classFolders, scanImageFolder, type FolderOrder } from '../../data/image-folder.js';
import { DatasetNotFoundError, userPathCandidates } from '../../data/locate.js';

export const imageFolder = defineComponent({
  kind: 'dataset',
  type: 'image-folder',
  doc: 'JPEG/PNG images in a folder per class (the ImageNet / torchvision ImageFolder layout): <path>/<train_dir>/<class>/*.jpg and <path>/<test_dir>/<class>/*.jpg. Classes are the sorted training folder names; images are decoded when the pipeline reads them. Training images are listed class folder by class folder; evaluation images by file name across the class folders, which for ImageNet (ILSVRC2012_val_00000001.JPEG, ...) is the val.txt order tensorpack evaluates in, classes mixed.',
  params: Type.Object(
    {
      ...CommonDatasetParams,
      ...ChannelOrderParam,
      path: Type.String({
        description: 'Folder holding the split folders; relative to the config file, else to the project.',
      }),
      train_dir: Type.String({ default: 'train', description: 'Split folder for training.' }),
      test_dir: Type.String({ default: 'val', description: 'Split folder for evaluation (same class folder names).' }),
      channels: Type.Union([Type.Literal(1), Type.Literal(3)], {
        default: 3,
        description: '3: RGB (alpha dropped); 1: luminance.',
      }),
      jpeg_dct_scaling: Type.Boolean({
        default: true,
        description:
          "On the JPEG fast path, decode a crop at 1/2, 1/4 or 1/8 scale when it stays at least as large as its resize (libjpeg-turbo's DCT scaling: faster, pixels within a level or two). false decodes the file's own pixels, as cv2.imread does.",
      }),
      on_damaged: Type.Optional(
        Type.Union([Type.Literal('stop'), Type.Literal('skip')], {
          description:
            'An image file that cannot be decoded: stop the run naming it (exit 2; when left out), or skip: leave it out of its batch with a warning and count it.',
        }),
      ),
    },
    { additionalProperties: false },
  ),
  check: (params, _at, ctx) =>
    batchFitsTrainingSet(params, ctx.config as { train: { batch_size: number } }, ctx.atRoot),
  build(params, ctx): DatasetSplits {
    const candidates = userPathCandidates(params.path, ctx.configDir);
    const root = candidates.find(
      (dir) => existsSync(join(dir, params.train_dir)) && existsSync(join(dir, params.test_dir)),
    );
    if (!root) {
      throw new DatasetNotFoundError(
        [
          `Image folder dataset not found. epsilab looked for ${params.train_dir}/ and ${params.test_dir}/ in:`,
          ...candidates.map((dir) => `  ${dir} (configured path)`),
          'To get it: arrange the images as <path>/<split>/<class>/<image>.jpg|png (for ImageNet, the usual train/ and val/ class-folder layout).',
        ].join('\n'),
      );
    }
    const classes = classFolders(join(root, params.train_dir));
    const scan = (dir: string, order: FolderOrder) =>
      scanImageFolder(
        join(root, dir),
        classes,
        params.channels,
        params.on_damaged ?? 'stop',
        order,
        params.jpeg_dct_scaling,
      );
    const train = scan(params.train_dir, 'class');
    const test = scan(params.test_dir, 'name');
    ctx.log(`image-folder: ${classes.length} classes, ${train.size} training and ${test.size} test images in ${root}`);
    return colourSplits({ name: 'image-folder', numClasses: classes.length, source: root }, train, test, params);
  },
});
