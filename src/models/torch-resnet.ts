/** The distillation seed's ResNet family: its parameters, builder and component. */
import { Type } from '@sinclair/typebox';
import { defineComponent, type BuildContext } from '../registry/component.js';
import type { Model } from './types.js';
import { makeBatchNorm, makeConv, makeDense, ParamStore, torchPadding, type Init } from './nn.js';
import { modelFacts } from './common.js';
import { classifier, convLayer, network, residualLayer, tapLayer, type Layer } from './layers.js';
import type { OnnxExportable } from './onnx/graph.js';

/** Blocks per stage: resnet18 is the seed's committed 3-stage [2, 2, 2] net (its layer4 is commented out). */
export const TORCH_VARIANTS = { resnet20: [3, 3, 3], resnet18: [2, 2, 2] } as const;
export type TorchVariant = keyof typeof TORCH_VARIANTS;

/** PyTorch BatchNorm2d: momentum 0.1 on the new batch (0.9 on the running value, as nn.ts counts it), eps 1e-5. */
const BN_MOMENTUM = 0.9;
const BN_EPSILON = 1e-5;
/** The seed's init loop: kaiming_normal_(fan_out, relu) for convs; nn.Linear keeps its default uniform ±1/sqrt(fan_in). */
const CONV_INIT: Init = { kind: 'kaiming-normal-fan-out' };
const FC_INIT: Init = { kind: 'torch-default' };

/**
 * The distillation seed's modified torchvision ResNet (tgjjj/ResNet-Distillation ResNet.py, ResNet_plain.py): conv3×3/1 16 + BN + ReLU stem (no max pool), stages of
 * post-activation basic blocks at 16/32/64 channels, global average pool, FC. Variable names follow its state_dict with
 * `/` for the module path and nn.ts suffixes: conv1.weight → conv1/W, bn1.running_var → bn1/variance,
 * layer2.0.downsample.0.weight → layer2.0/downsample.0/W, fc.bias → fc/b (kernels are HWIO, not PyTorch's OIHW).
 * `plain` builds the twin without `out += identity`; its names are the teacher's minus the downsample branches.
 */
export function buildTorchResnet(
  ctx: BuildContext,
  name: string,
  { variant, plain }: { variant: TorchVariant; plain: boolean },
): Model & OnnxExportable {
  const tf = ctx.tf;
  const { inputShape, numClasses } = modelFacts(ctx);
  const store = new ParamStore(tf, ctx.seed);
  const bn = (scope: string, ch: number) => makeBatchNorm(store, scope, ch, BN_MOMENTUM, BN_EPSILON);
  const conv3 = (scope: string, inCh: number, outCh: number, stride: number) =>
    makeConv(store, scope, 3, inCh, outCh, stride, CONV_INIT, torchPadding(3));

  // Every batch norm here follows a convolution, so all of them fold into it in ONNX.
  const layers: Layer[] = [
    convLayer(conv3('conv1', inputShape[2], 16, 1), 'conv1', { bn: bn('bn1', 16), relu: true }),
    tapLayer('stem'),
  ];
  let ch = 16;
  TORCH_VARIANTS[variant].forEach((count, s) => {
    for (let i = 0; i < count; i++) {
      const block = `layer${s + 1}.${i}`;
      const planes = 16 * 2 ** s;
      const stride = i === 0 && s > 0 ? 2 : 1;
      const needsDownsample = stride !== 1 || ch !== planes;
      const conv1 = conv3(`${block}/conv1`, ch, planes, stride);
      const bn1 = bn(`${block}/bn1`, planes);
      const conv2 = conv3(`${block}/conv2`, planes, planes, 1);
      const bn2 = bn(`${block}/bn2`, planes);
      // Option B (1×1 conv + BN) where the stride or width changes; never built in the plain twin, which would not use it.
      const downsample =
        needsDownsample && !plain
          ? [
              convLayer(
                makeConv(store, `${block}/downsample.0`, 1, ch, planes, stride, CONV_INIT, torchPadding(1)),
                `${block}/downsample`,
                { bn: bn(`${block}/downsample.1`, planes) },
              ),
            ]
          : [];
      ch = planes;
      layers.push(
        residualLayer({
          name: block,
          pre: [],
          branch: [
            convLayer(conv1, `${block}/conv1`, { bn: bn1, relu: true }),
            convLayer(conv2, `${block}/conv2`, { bn: bn2 }),
          ],
          shortcut: plain ? null : downsample,
          shortcutReads: 'input',
          relu: true,
        }),
      );
    }
    layers.push(tapLayer(`layer${s + 1}`));
  });
  const fc = makeDense(store, 'fc', ch, numClasses, FC_INIT, FC_INIT);

  return network(
    tf,
    {
      name,
      inputShape,
      numClasses,
      variables: store.variables,
      parts: [
        ['stem', (v) => v.startsWith('conv1/') || v.startsWith('bn1/')],
        ...TORCH_VARIANTS[variant].map((_, s): [string, (v: string) => boolean] => [
          `layer${s + 1}`,
          (v) => v.startsWith(`layer${s + 1}.`),
        ]),
        ['fc', (v) => v.startsWith('fc/')],
      ],
    },
    layers,
    classifier(null, fc, { pool: 'avgpool', fc: 'fc' }),
  );
}

/** A component of the family, `variant` its default variant. */
export function torchResnetVariant(v: { type: string; doc: string; variant: TorchVariant }) {
  return defineComponent({
    kind: 'model',
    type: v.type,
    doc: v.doc,
    params: Type.Object(
      {
        variant: Type.Union(
          Object.keys(TORCH_VARIANTS).map((t) => Type.Literal(t)),
          {
            default: v.variant,
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
    parts: () => ({
      taps: ['stem', 'layer1', 'layer2', 'layer3'],
      stages: ['stem', 'layer1', 'layer2', 'layer3', 'fc'],
    }),
    build: (params, ctx): Model =>
      buildTorchResnet(ctx, `${params.plain ? 'plain-' : ''}${params.variant}`, {
        variant: params.variant as TorchVariant,
        plain: params.plain,
      }),
  });
}
