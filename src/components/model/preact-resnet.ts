import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import { preactCifarComponent } from '../../models/preact-component.js';
import { OptionalEpsilon, preactCifarFields, SideOutput } from '../../models/preact-params.js';

export const preactResnet = defineComponent({
  kind: 'model',
  type: 'preact-resnet',
  doc:
    'Pre-activation ResNet for CIFAR/SVHN as the ε-ResNet seed builds it (depth 6n+2, basic blocks, option-A shortcuts, ' +
    'tensorpack init and BN). A number for `epsilon` adds the strict-identity gate to every block; `structure` builds a ' +
    'compressed model. FLOPs count convs and the FC of the prediction path (not BN, ReLU, adds, pooling or the side head).',
  params: Type.Object(
    {
      ...preactCifarFields(20),
      epsilon: OptionalEpsilon,
      side_output: SideOutput(null, 'res2.{n/2}'),
    },
    { additionalProperties: false },
  ),
  ...preactCifarComponent('preact-resnet'),
});
