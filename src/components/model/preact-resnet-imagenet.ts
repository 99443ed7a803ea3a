import { preactResnetImagenetVariant } from '../../models/preact-resnet-imagenet.js';

export const preactResnetImagenet = preactResnetImagenetVariant({
  type: 'preact-resnet-imagenet',
  doc:
    "tensorpack's ImageNet pre-activation ResNet-18/34/50/101/152 as the ε-ResNet code uses it, with the optional ε gate " +
    'on every block and side head in group2 (blocks named group<g>/block<i>). FLOPs count convs (shortcuts included) and the FC.',
  depth: 101,
});
