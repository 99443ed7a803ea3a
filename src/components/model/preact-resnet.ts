import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import { error } from '../../config/errors.js';
import { preactCifarProblems } from '../../models/problems.js';
import type { Model } from '../../engine/types.js';
import { buildPreactCifar } from '../../models/preact-cifar.js';
import { OptionalEpsilon, preactCifarFields, SideOutput, sideOutputSettings } from '../../models/preact-params.js';

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
  check(params, at) {
    return preactCifarProblems(params).map((p) => error(p.message, at(p.path)));
  },
  parts: () => ({ taps: ['conv0', 'res1', 'res2', 'res3'], stages: [] }),
  build(params, ctx): Model {
    return buildPreactCifar(ctx, `preact-resnet-${params.depth}`, {
      depth: params.depth,
      epsilon: params.epsilon,
      gateSharpness: params.gate_sharpness,
      sideOutput: sideOutputSettings(params.side_output),
      structure: params.structure,
      discardFirstBlock: params.discard_first_block,
    });
  },
});
