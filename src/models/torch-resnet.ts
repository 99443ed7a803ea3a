import type * as tfc from '@tensorflow/tfjs-core';
import type { BuildContext } from '../registry/component.js';
import type { Model, ModelOutput } from './types.js';
import {
  batchNorm,
  conv,
  convFlops,
  dense,
  globalAvgPool,
  makeBatchNorm,
  makeConv,
  makeDense,
  ParamStore,
  torchPadding,
  type BatchNorm,
  type Conv,
  type Init,
} from './nn.js';
import { blockScope, bnMode, groupVariables, modelFacts, tidyOutput, type BnMode } from './common.js';
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

interface Block {
  name: string;
  conv1: Conv;
  bn1: BatchNorm;
  conv2: Conv;
  bn2: BatchNorm;
  /** Option B (1×1 conv + BN) where the stride or width changes; never built in the plain twin, which would not use it. */
  downsample: { conv: Conv; bn: BatchNorm } | null;
}

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
  variant: TorchVariant,
  plain: boolean,
): Model & OnnxExportable {
  const tf = ctx.tf;
  const { inputShape, numClasses } = modelFacts(ctx);
  const [H, W, C] = inputShape;
  const store = new ParamStore(tf, ctx.seed);
  const bn = (scope: string, ch: number) => makeBatchNorm(store, scope, ch, BN_MOMENTUM, BN_EPSILON);
  const conv3 = (scope: string, inCh: number, outCh: number, stride: number) =>
    makeConv(store, scope, 3, inCh, outCh, stride, CONV_INIT, torchPadding(3));

  const stem = { conv: conv3('conv1', C, 16, 1), bn: bn('bn1', 16) };
  let flops = convFlops(stem.conv, H, W).flops;
  let [h, w, ch] = [H, W, 16];
  const layers = TORCH_VARIANTS[variant].map((count, s) =>
    Array.from({ length: count }, (_, i): Block => {
      const block = `layer${s + 1}.${i}`;
      const planes = 16 * 2 ** s;
      const stride = i === 0 && s > 0 ? 2 : 1;
      const needsDownsample = stride !== 1 || ch !== planes;
      const conv1 = conv3(`${block}/conv1`, ch, planes, stride);
      const bn1 = bn(`${block}/bn1`, planes);
      const conv2 = conv3(`${block}/conv2`, planes, planes, 1);
      const bn2 = bn(`${block}/bn2`, planes);
      const downsample =
        needsDownsample && !plain
          ? {
              conv: makeConv(store, `${block}/downsample.0`, 1, ch, planes, stride, CONV_INIT, torchPadding(1)),
              bn: bn(`${block}/downsample.1`, planes),
            }
          : null;
      const c1 = convFlops(conv1, h, w);
      flops +=
        c1.flops + convFlops(conv2, c1.outH, c1.outW).flops + (downsample ? convFlops(downsample.conv, h, w).flops : 0);
      [h, w, ch] = [c1.outH, c1.outW, planes];
      return { name: block, conv1, bn1, conv2, bn2, downsample };
    }),
  );
  const fc = makeDense(store, 'fc', ch, numClasses, FC_INIT, FC_INIT);
  flops += 2 * ch * numClasses;

  const bnOf = (b: BatchNorm, x: tfc.Tensor4D, mode: BnMode) =>
    batchNorm(tf, b, x, mode.training, mode.updateStats, mode.statsMomentum);
  const basicBlock = (x: tfc.Tensor4D, b: Block, mode: BnMode): tfc.Tensor4D => {
    const out = bnOf(b.bn2, conv(tf, b.conv2, tf.relu(bnOf(b.bn1, conv(tf, b.conv1, x), mode))), mode);
    if (plain) return tf.relu(out);
    return tf.relu(
      tf.add(out, b.downsample ? bnOf(b.downsample.bn, conv(tf, b.downsample.conv, x), mode) : x),
    ) as tfc.Tensor4D;
  };

  return {
    name,
    inputShape,
    numClasses,
    variables: store.variables,
    tapNames: ['stem', ...layers.map((_, s) => `layer${s + 1}`)],
    stages: groupVariables(store.variables, [
      ['stem', (v) => v.startsWith('conv1/') || v.startsWith('bn1/')],
      ...layers.map((_, s): [string, (v: string) => boolean] => [
        `layer${s + 1}`,
        (v) => v.startsWith(`layer${s + 1}.`),
      ]),
      ['fc', (v) => v.startsWith('fc/')],
    ]),
    apply(x, opts): ModelOutput {
      return tidyOutput(tf, () => {
        const mode = bnMode(opts);
        let l = tf.relu(bnOf(stem.bn, conv(tf, stem.conv, x), mode));
        const taps: Record<string, tfc.Tensor> = { stem: l };
        layers.forEach((blocks, s) => {
          for (const b of blocks) l = blockScope(tf, mode.training, () => basicBlock(l, b, mode));
          taps[`layer${s + 1}`] = l;
        });
        return { logits: dense(tf, fc, globalAvgPool(tf, l)), taps, auxLogits: [], gates: [] };
      });
    },
    exportOnnx(g) {
      // Every batch norm here follows a convolution, so all of them fold.
      let l = g.relu(g.conv(g.input, stem.conv, 'conv1', stem.bn));
      for (const b of layers.flat()) {
        const out = g.conv(g.relu(g.conv(l, b.conv1, `${b.name}/conv1`, b.bn1)), b.conv2, `${b.name}/conv2`, b.bn2);
        if (plain) l = g.relu(out);
        else
          l = g.relu(
            g.add(
              out,
              b.downsample ? g.conv(l, b.downsample.conv, `${b.name}/downsample`, b.downsample.bn) : l,
              `${b.name}/add`,
            ),
          );
      }
      return g.dense(g.globalAvgPool(l, 'avgpool'), fc, 'fc');
    },
    flops: () => flops,
    dispose() {
      for (const v of store.variables) v.variable.dispose();
    },
  };
}
