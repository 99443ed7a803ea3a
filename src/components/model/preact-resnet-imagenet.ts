import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import { error } from '../../util/diagnostics.js';
import { preactImagenetProblems } from '../../models/problems.js';
import type { Model } from '../../models/types.js';
import { buildPreactImagenet, IMAGENET_DEPTHS, type ImagenetDepth } from '../../models/preact-imagenet.js';
import {
  GateSharpness,
  OptionalEpsilon,
  SideOutput,
  sideOutputSettings,
  TestGateParam,
} from '../../models/preact-params.js';

export const preactResnetImagenet = defineComponent({
  kind: 'model',
  type: 'preact-resnet-imagenet',
  doc:
    "tensorpack's ImageNet pre-activation ResNet-18/34/50/101/152 as the ε-ResNet code uses it, with the optional ε gate " +
    'on every block and side head in group2 (blocks named group<g>/block<i>). FLOPs count convs (shortcuts included) and the FC.',
  params: Type.Object(
    {
      depth: Type.Union(
        Object.keys(IMAGENET_DEPTHS).map((d) => Type.Literal(Number(d))),
        {
          default: 101,
          description:
            'ResNet depth: 18 and 34 (basic blocks), 50, 101, 152 (bottleneck); the paper trains 101 and 152.',
        },
      ),
      epsilon: OptionalEpsilon,
      gate_sharpness: GateSharpness,
      test_gate: TestGateParam,
      side_output: SideOutput(
        null,
        "group2/block{sum(units)/2 − units[0] − units[1] − 1}, the original's rule (8 for 101, 13 for 152, 0 for 34 and 50)",
      ),
      units: Type.Union([Type.Array(Type.Integer({ minimum: 1 }), { minItems: 4, maxItems: 4 }), Type.Null()], {
        default: null,
        description:
          "Reduced-scale runs: blocks per group instead of the depth's table (the block kind stays the depth's: basic for 18/34, bottleneck for 50+); null: the depth's.",
      }),
      base_width: Type.Integer({
        minimum: 1,
        default: 64,
        description:
          'Channels of conv0 and group0 (64 in the original); every later group doubles them. Smaller for reduced-scale runs.',
      }),
      structure: Type.Union([Type.Array(Type.Integer({ minimum: 0 }), { minItems: 4, maxItems: 4 }), Type.Null()], {
        default: null,
        description:
          'Compressed model: blocks kept per group, as `epsilab compress` writes it; null keeps every block.',
      }),
      discard_first_block: Type.Array(Type.Integer({ minimum: 0, maximum: 1 }), {
        minItems: 4,
        maxItems: 4,
        default: [0, 0, 0, 0],
        description:
          "Compressed model: 1 where a group's first block was discarded (the group opens with that block's shortcut path alone and numbers kept blocks from 1).",
      }),
    },
    { additionalProperties: false },
  ),
  check(params, at) {
    return preactImagenetProblems(params).map((p) => error(p.message, at(p.path)));
  },
  parts: () => ({ taps: ['conv0', 'group0', 'group1', 'group2', 'group3'], stages: [] }),
  build(params, ctx): Model {
    const depth = params.depth as ImagenetDepth;
    return buildPreactImagenet(ctx, `preact-resnet-imagenet-${depth}`, {
      depth,
      epsilon: params.epsilon,
      gateSharpness: params.gate_sharpness,
      testGate: params.test_gate,
      sideOutput: sideOutputSettings(params.side_output),
      units: params.units,
      baseWidth: params.base_width,
      structure: params.structure,
      discardFirstBlock: params.discard_first_block,
    });
  },
});
