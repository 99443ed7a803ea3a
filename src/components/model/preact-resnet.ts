import { preactResnetVariant } from '../../models/preact-resnet.js';
import { OptionalEpsilon } from '../../models/gate.js';
import { SideOutput } from '../../models/side-output.js';

export const preactResnet = preactResnetVariant({
  type: 'preact-resnet',
  doc:
    'Pre-activation ResNet for CIFAR/SVHN as the ε-ResNet seed builds it (depth 6n+2, basic blocks, option-A shortcuts, ' +
    'tensorpack init and BN). A number for `epsilon` adds the strict-identity gate to every block; `structure` builds a ' +
    'compressed model. FLOPs count convs and the FC of the prediction path (not BN, ReLU, adds, pooling or the side head).',
  depth: 20,
  epsilon: OptionalEpsilon,
  side_output: SideOutput(null, 'res2.{n/2}'),
});
