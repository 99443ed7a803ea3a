import { Type } from '@sinclair/typebox';
import { preactResnetVariant } from '../../models/preact-resnet.js';
import { SIDE_OUTPUT_WEIGHT, SideOutput } from '../../models/side-output.js';

/** `preact-resnet` with the gate always on and the side head on by default, so an ε-ResNet config says what it is. */
export const epsilonResnet = preactResnetVariant({
  type: 'epsilon-resnet',
  doc:
    'ε-ResNet (Yu et al., CVPR 2018) for CIFAR/SVHN: the pre-activation ResNet with the strict-identity gate on every ' +
    'block and side supervision after res2.{n/2}, as the seed trains it. Same builder as `preact-resnet`.',
  depth: 110,
  epsilon: Type.Number({
    minimum: 0,
    default: 2.5,
    description: 'ε of the gate: a block is discarded for a batch when every |F| ≤ ε (paper: 2.5 CIFAR, 1.5 SVHN).',
  }),
  side_output: SideOutput({ weight: SIDE_OUTPUT_WEIGHT, after: null }, 'res2.{n/2}'),
});
