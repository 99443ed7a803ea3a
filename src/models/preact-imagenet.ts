import type * as tfc from '@tensorflow/tfjs-core';
import type { BuildContext } from '../registry/component.js';
import type { GateReading, Model, ModelOutput } from './types.js';
import {
  conv,
  convFlops,
  dense,
  globalAvgPool,
  makeConv,
  makeDense,
  ParamStore,
  type BatchNorm,
  type Conv,
} from './nn.js';
import { bnMode, groupVariables, modelFacts, scalarVariable, tidyOutput } from './common.js';
import { gatedBlock, makeLastGate, residualOutputOnnx, type GateSettings, type TestGate } from './gate.js';
import type { OnnxExportable } from './onnx/graph.js';
import { makeSideHead, type SideHead } from './side-output.js';
import { bnRelu, makeBnRelu, TP_CONV_INIT, TP_FC_INIT } from './tensorpack.js';
import { groupLayout } from './preact-structure.js';

/** Blocks per group and block kind, as the original's cfg table (imagenetEpsilonResnet.py:103-109). */
export const IMAGENET_DEPTHS = {
  18: { units: [2, 2, 2, 2], bottleneck: false },
  34: { units: [3, 4, 6, 3], bottleneck: false },
  50: { units: [3, 4, 6, 3], bottleneck: true },
  101: { units: [3, 4, 23, 3], bottleneck: true },
  152: { units: [3, 8, 36, 3], bottleneck: true },
} as const;
export type ImagenetDepth = keyof typeof IMAGENET_DEPTHS;

/** Blocks per group: the depth's table, or `units` for a reduced-scale network. */
export function imagenetUnits(depth: ImagenetDepth, units?: readonly number[] | null): readonly number[] {
  return units ?? IMAGENET_DEPTHS[depth].units;
}

/** The blocks a network builds, `group<g>/block<i>`, in order (a compressed one numbers its kept blocks as its layout says). */
export function imagenetBlockNames(
  depth: ImagenetDepth,
  units?: readonly number[] | null,
  structure: readonly number[] | null = null,
  discardFirstBlock?: readonly number[],
): string[] {
  const u = imagenetUnits(depth, units);
  return groupLayout(u, structure, discardFirstBlock ?? u.map(() => 0)).flatMap((l, g) =>
    l.blocks.map((i) => `group${g}/block${i}`),
  );
}

export interface PreactImagenetOptions {
  depth: ImagenetDepth;
  /** Blocks per group instead of the depth's table (reduced-scale runs); the block kind stays the depth's. */
  units: readonly number[] | null;
  /** Channels of conv0 and group0 (64 in the original); each later group doubles them. */
  baseWidth: number;
  epsilon: number | null;
  gateSharpness: number;
  testGate: TestGate;
  sideOutput: { weight: number; after: string | null } | null;
  /** Compressed model: blocks kept per group, as `epsilab compress` writes it; null keeps every block. */
  structure: readonly number[] | null;
  /** Compressed model: 1 where a group's first block was discarded. */
  discardFirstBlock: readonly number[];
}

/** 'no_preact' (group0/block0), 'both_preact' (other block0s: shortcut after BNReLU), 'default' (shortcut on the raw input). */
type Preact = 'no_preact' | 'both_preact' | 'default';

interface Block {
  name: string;
  preactMode: Preact;
  preact: BatchNorm | null;
  /** conv1, conv2 (, conv3); every conv but the last is followed by BNReLU. */
  convs: { conv: Conv; bn: BatchNorm | null }[];
  /** 1×1 `convshortcut` (no BN) where the channel count changes. */
  shortcut: Conv | null;
  /** The last training batch's gate, for test_gate: last-train. */
  lastGate: tfc.Variable | null;
}

/**
 * The original's side-output rule (imagenetEpsilonResnet.py:310, 121-129): after block sum(defs)/2 − sum(defs[:2]) − 1 of group2. It gives 8 for ResNet-101 and 13
 * for 152. For 34 and 50 it gives 0, where the original calls side_output('block0', l, 1000) without the label and
 * crashes; we take the evident intent, after group2/block0. For 18 it gives −1 (no head in the original): an error here.
 */
export function imagenetSidePosition(
  depth: ImagenetDepth,
  units: readonly number[] = IMAGENET_DEPTHS[depth].units,
): string {
  const total = units.reduce((a, b) => a + b, 0);
  const position = Math.floor(total / 2) - units[0] - units[1] - 1;
  if (position < 0)
    throw new Error(
      `the ε-ResNet code's side-output rule gives no position for ResNet-${depth} (${position}); name the block with side_output.after, e.g. group2/block0`,
    );
  return `group2/block${position}`;
}

/**
 * A group whose first block was discarded opens with that block's shortcut path alone: BNReLU('preact') then the 1×1
 * `convshortcut` for a both_preact block, the convshortcut on the raw input for group0's no_preact block, nothing where
 * the width does not change (imagenetEpsilonResnet.py:83-94, where T(F) = 0 leaves `short_cut` alone).
 */
interface ShortcutOnly {
  preact: BatchNorm | null;
  shortcut: Conv | null;
}

/**
 * tensorpack's ImageNet pre-activation ResNet as the ε-ResNet code builds it (yuxwind/epsilonResnet
 * scripts/imagenetEpsilonResnet.py:59-145): conv0 7×7/2 BNReLU, max pool 3/2, groups of basic or bottleneck blocks,
 * bnlast → GAP → FC. Names: conv0/W, group1/block0/preact/bn/*, group1/block0/conv1/{W,bn/*},
 * group1/block0/convshortcut/W, bnlast/bn/*, linear/{W,b}, group2/side_output/block8/*.
 * The original's basic blocks project their shortcut to 4× the channels and cannot build (:91); these use the block's own width.
 * With `structure` it is the compressed network: kept blocks renumbered per group, from 1 after a discarded first block.
 */
export function buildPreactImagenet(ctx: BuildContext, name: string, o: PreactImagenetOptions): Model & OnnxExportable {
  const tf = ctx.tf;
  const { inputShape, numClasses } = modelFacts(ctx);
  const [H, W, C] = inputShape;
  const { bottleneck } = IMAGENET_DEPTHS[o.depth];
  const units = imagenetUnits(o.depth, o.units);
  const layout = groupLayout(units, o.structure, o.discardFirstBlock);
  const sideAfter = o.sideOutput ? (o.sideOutput.after ?? imagenetSidePosition(o.depth, units)) : null;

  const store = new ParamStore(tf, ctx.seed);
  const conv0 = makeConv(store, 'conv0', 7, C, o.baseWidth, 2, TP_CONV_INIT);
  const conv0bn = makeBnRelu(store, 'conv0', o.baseWidth);
  const c0 = convFlops(conv0, H, W);
  let flops = c0.flops;
  let [h, w, ch] = [Math.ceil(c0.outH / 2), Math.ceil(c0.outW / 2), o.baseWidth];
  let side: SideHead | null = null;
  const groups = layout.map(({ shortcutOnly, blocks }, g) => {
    const features = o.baseWidth * 2 ** g;
    const out = bottleneck ? features * 4 : features;
    const groupStride = g > 0 ? 2 : 1;
    let opening: ShortcutOnly | null = null;
    if (shortcutOnly) {
      const scope = `group${g}/block0`;
      const shortcut =
        ch !== out ? makeConv(store, `${scope}/convshortcut`, 1, ch, out, groupStride, TP_CONV_INIT) : null;
      // Every group but a basic group0 changes width, so only that one (an identity shortcut) has nothing to build.
      opening = { preact: g > 0 ? makeBnRelu(store, `${scope}/preact`, ch) : null, shortcut };
      if (shortcut) {
        const f = convFlops(shortcut, h, w);
        flops += f.flops;
        [h, w, ch] = [f.outH, f.outW, out];
      }
    }
    const built = blocks.map((i): Block => {
      const block = `group${g}/block${i}`;
      const stride = i === 0 ? groupStride : 1;
      const preactMode: Preact = i > 0 ? 'default' : g === 0 ? 'no_preact' : 'both_preact';
      const preact = preactMode === 'no_preact' ? null : makeBnRelu(store, `${block}/preact`, ch);
      const specs: [number, number, number, boolean][] = bottleneck
        ? [
            [1, features, 1, true],
            [3, features, stride, true],
            [1, out, 1, false],
          ]
        : [
            [3, features, stride, true],
            [3, features, 1, false],
          ];
      let [bh, bw, bch] = [h, w, ch];
      const convs = specs.map(([k, outCh, s, withBn], j) => {
        const scope = `${block}/conv${j + 1}`;
        const c = makeConv(store, scope, k, bch, outCh, s, TP_CONV_INIT);
        const f = convFlops(c, bh, bw);
        flops += f.flops;
        [bh, bw, bch] = [f.outH, f.outW, outCh];
        return { conv: c, bn: withBn ? makeBnRelu(store, scope, outCh) : null };
      });
      const shortcut = ch !== out ? makeConv(store, `${block}/convshortcut`, 1, ch, out, stride, TP_CONV_INIT) : null;
      if (shortcut) flops += convFlops(shortcut, h, w).flops;
      [h, w, ch] = [bh, bw, bch];
      if (block === sideAfter)
        side = makeSideHead(store, `group${g}/side_output/block${i}`, block, ch, numClasses, o.sideOutput!.weight);
      return { name: block, preactMode, preact, convs, shortcut, lastGate: makeLastGate(store, block, o) };
    });
    return { opening, blocks: built };
  });
  if (sideAfter !== null && side === null)
    throw new Error(`side_output.after: ${sideAfter} is not a block of ResNet-${o.depth}`);
  const bnlast = makeBnRelu(store, 'bnlast', ch);
  const linear = makeDense(store, 'linear', ch, numClasses, TP_FC_INIT);
  flops += 2 * ch * numClasses;
  const epsilon = o.epsilon === null ? undefined : scalarVariable(tf, o.epsilon);
  const gate: GateSettings = { epsilon, sharpness: o.gateSharpness, testGate: o.testGate };
  const head = side as SideHead | null;

  const residual = (x: tfc.Tensor4D, b: Block, mode: ReturnType<typeof bnMode>): tfc.Tensor4D =>
    b.convs.reduce((l, { conv: c, bn }) => (bn ? bnRelu(tf, bn, conv(tf, c, l), mode) : conv(tf, c, l)), x);

  return {
    name,
    inputShape,
    numClasses,
    variables: store.variables,
    tapNames: ['conv0', ...groups.map((_, g) => `group${g}`)],
    stages: groupVariables(store.variables, [
      ['conv0', (v) => v.startsWith('conv0/')],
      ['side_output', (v) => v.includes('/side_output/')],
      ...groups.map((_, g): [string, (v: string) => boolean] => [`group${g}`, (v) => v.startsWith(`group${g}/`)]),
      ['head', (v) => v.startsWith('bnlast/') || v.startsWith('linear/')],
    ]),
    epsilon,
    apply(x, opts): ModelOutput {
      return tidyOutput(tf, () => {
        const mode = bnMode(opts);
        const taps: Record<string, tfc.Tensor> = {};
        const gates: GateReading[] = [];
        const auxLogits: ModelOutput['auxLogits'] = [];
        let l = tf.maxPool(bnRelu(tf, conv0bn, conv(tf, conv0, x), mode), 3, 2, 'same');
        taps.conv0 = l;
        groups.forEach(({ opening, blocks }, g) => {
          if (opening?.shortcut)
            l = conv(tf, opening.shortcut, opening.preact ? bnRelu(tf, opening.preact, l, mode) : l);
          for (const b of blocks) {
            const x = l;
            l = gatedBlock(tf, mode, { gates, auxLogits }, b, gate, head, () => {
              const pre = b.preact ? bnRelu(tf, b.preact, x, mode) : x;
              const input = b.preactMode === 'both_preact' ? pre : x;
              return { F: residual(pre, b, mode), shortcut: b.shortcut ? conv(tf, b.shortcut, input) : input };
            });
          }
          taps[`group${g}`] = l;
        });
        const logits = dense(tf, linear, globalAvgPool(tf, bnRelu(tf, bnlast, l, mode)));
        return { logits, taps, auxLogits, gates };
      });
    },
    exportOnnx(g) {
      let l = g.maxPool(g.relu(g.conv(g.input, conv0, 'conv0', conv0bn)), 3, 2, 'same', 'pool0');
      groups.forEach(({ opening, blocks }, gi) => {
        if (opening?.shortcut) {
          const scope = `group${gi}/block0`;
          l = g.conv(
            opening.preact ? g.relu(g.batchNorm(l, opening.preact, `${scope}/preact/bn`)) : l,
            opening.shortcut,
            `${scope}/convshortcut`,
          );
        }
        for (const b of blocks) {
          const pre = b.preact ? g.relu(g.batchNorm(l, b.preact, `${b.name}/preact/bn`)) : l;
          const input = b.preactMode === 'both_preact' ? pre : l;
          const F = b.convs.reduce(
            (x, { conv: c, bn }, j) =>
              bn ? g.relu(g.conv(x, c, `${b.name}/conv${j + 1}`, bn)) : g.conv(x, c, `${b.name}/conv${j + 1}`),
            pre,
          );
          const shortcut = b.shortcut ? g.conv(input, b.shortcut, `${b.name}/convshortcut`) : input;
          l = residualOutputOnnx(g, F, shortcut, { ...gate, block: b.name, lastGate: b.lastGate });
        }
      });
      return g.dense(g.globalAvgPool(g.relu(g.batchNorm(l, bnlast, 'bnlast/bn')), 'gap'), linear, 'linear');
    },
    flops: () => flops,
    dispose() {
      for (const v of store.variables) v.variable.dispose();
      epsilon?.dispose();
    },
  };
}
