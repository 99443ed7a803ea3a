import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { Model } from '../../models/types.js';
import { buildTorchResnet, TORCH_VARIANTS, type TorchVariant } from '../../models/torch-resnet.js';

export const torchResnet = defineComponent({
  kind: 'model',
  type: 'torch-resnet',
  doc:
    "The distillation seed's torchvision-style post-activation ResNet (16-32-64 channels, option-B downsampling, PyTorch " +
    "init, padding and BN) and its plain twin. Taps stem, layer1..3; `stages` lists each part's variables. FLOPs count " +
    'convs (downsampling included where computed) and the FC.',
  params: Type.Object(
    {
      variant: Type.Union(
        Object.keys(TORCH_VARIANTS).map((v) => Type.Literal(v)),
        {
          default: 'resnet20',
          description: "resnet20: [3, 3, 3] blocks; resnet18: the seed's committed 3-stage [2, 2, 2] net.",
        },
      ),
      plain: Type.Boolean({
        default: false,
        description:
          'Plain twin: no identity shortcut; it has no downsample branches (the seed computes and discards them) and takes its weights from the teacher by name.',
      }),
    },
    { additionalProperties: false },
  ),
  parts: () => ({ taps: ['stem', 'layer1', 'layer2', 'layer3'], stages: ['stem', 'layer1', 'layer2', 'layer3', 'fc'] }),
  build(params, ctx): Model {
    const variant = params.variant as TorchVariant;
    return buildTorchResnet(ctx, `${params.plain ? 'plain-' : ''}${variant}`, variant, params.plain);
  },
});
