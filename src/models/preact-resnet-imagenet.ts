/** tensorpack's ImageNet pre-activation ResNet family as the ε-ResNet code uses it: parameters, rules, builder, component. */
import { Type, type Static } from '@sinclair/typebox';
import { defineComponent, type BuildContext, type ModelCompression } from '../registry/component.js';
import { error } from '../util/diagnostics.js';
import type { Model } from './types.js';
import { makeConv, ParamStore } from './nn.js';
import { modelFacts, scalarVariable } from './common.js';
import { GateSharpness, makeLastGate, OptionalEpsilon, TestGateParam, type GateSettings } from './gate.js';
import {
  bnReluLayer,
  convLayer,
  maxPoolLayer,
  network,
  residualLayer,
  tapLayer,
  type Layer,
  type ResidualBlock,
} from './layers.js';
import type { OnnxExportable } from './onnx/graph.js';
import { groupLayout, type ParamProblem } from './preact-structure.js';
import { SideOutput, sideHead, sideOutputSettings } from './side-output.js';
import { makeBnRelu, tensorpackHead, TP_CONV_INIT } from './tensorpack.js';

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

function imagenetBlockName(group: number, index: number): string {
  return `group${group}/block${index}`;
}

/**
 * How compression removes the family's blocks: the compressed network is a `preact-resnet-imagenet` of the same depth,
 * units and width with the kept blocks' layout; a group's `convshortcut` stays with its discarded first block.
 */
export function preactResnetImagenetCompression(
  p: Partial<Pick<PreactResnetImagenetParams, 'units' | 'structure' | 'discard_first_block'>> & {
    depth: number;
    base_width: number;
  },
): ModelCompression {
  if (!(p.depth in IMAGENET_DEPTHS))
    throw new Error(`ImageNet ResNet depth ${p.depth} is not one of ${Object.keys(IMAGENET_DEPTHS).join(', ')}`);
  const units = imagenetUnits(p.depth as ImagenetDepth, p.units);
  return {
    units,
    firstGroup: 0,
    name: imagenetBlockName,
    blockOf: (v) => (v.includes('/side_output/') ? null : (/^(group\d+\/block\d+)\//.exec(v)?.[1] ?? v)),
    structure: p.structure ?? null,
    discardFirstBlock: p.discard_first_block ?? units.map(() => 0),
    section: (structure, discardFirstBlock) => ({
      type: 'preact-resnet-imagenet',
      depth: p.depth,
      units: p.units ?? null,
      base_width: p.base_width,
      epsilon: null,
      side_output: null,
      structure,
      discard_first_block: discardFirstBlock,
    }),
  };
}

/** The blocks a network builds, `group<g>/block<i>`, in order (a compressed one numbers its kept blocks as its layout says). */
function imagenetBlockNames(
  depth: ImagenetDepth,
  units?: readonly number[] | null,
  structure: readonly number[] | null = null,
  discardFirstBlock?: readonly number[],
): string[] {
  const u = imagenetUnits(depth, units);
  return groupLayout(u, structure, discardFirstBlock ?? u.map(() => 0)).flatMap((l, g) =>
    l.blocks.map((i) => imagenetBlockName(g, i)),
  );
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

/** The family's fields; `depth` defaults to `depthDefault`. */
function preactResnetImagenetParams(depthDefault: ImagenetDepth) {
  return Type.Object(
    {
      depth: Type.Union(
        Object.keys(IMAGENET_DEPTHS).map((d) => Type.Literal(Number(d))),
        {
          default: depthDefault,
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
  );
}

/** A model section of the family, as its schema gives it to `check` and `build`. */
export type PreactResnetImagenetParams = Static<ReturnType<typeof preactResnetImagenetParams>>;

/** The builder's rules: structure fits the groups; a named side block must exist; ResNet-18 has no default position. */
export function preactImagenetProblems(
  p: Pick<PreactResnetImagenetParams, 'depth' | 'units' | 'structure' | 'discard_first_block' | 'side_output'>,
): ParamProblem[] {
  const depth = p.depth as ImagenetDepth;
  let blocks: string[];
  try {
    blocks = imagenetBlockNames(depth, p.units, p.structure, p.discard_first_block);
  } catch (e) {
    return [{ path: p.structure === null ? 'discard_first_block' : 'structure', message: (e as Error).message }];
  }
  const side = sideOutputSettings(p.side_output);
  if (!side) return [];
  if (side.after === null) {
    try {
      imagenetSidePosition(depth, imagenetUnits(depth, p.units));
    } catch (e) {
      return [{ path: 'side_output', message: (e as Error).message }];
    }
    return [];
  }
  return blocks.includes(side.after)
    ? []
    : [{ path: 'side_output.after', message: `${side.after} is not a block of ResNet-${depth}` }];
}

/**
 * tensorpack's ImageNet pre-activation ResNet as the ε-ResNet code builds it (yuxwind/epsilonResnet
 * scripts/imagenetEpsilonResnet.py:59-145): conv0 7×7/2 BNReLU, max pool 3/2, groups of basic or bottleneck blocks,
 * bnlast → GAP → FC. Names: conv0/W, group1/block0/preact/bn/*, group1/block0/conv1/{W,bn/*},
 * group1/block0/convshortcut/W, bnlast/bn/*, linear/{W,b}, group2/side_output/block8/*.
 * Block 0 of group 0 is 'no_preact', the other block 0s 'both_preact' (the shortcut reads the pre-activation), the rest
 * 'default' (the shortcut reads the raw input). The original's basic blocks project their shortcut to 4× the channels
 * and cannot build (:91); these use the block's own width.
 * With `structure` it is the compressed network: kept blocks renumbered per group, from 1 after a discarded first block,
 * whose shortcut path alone opens the group (BNReLU 'preact' then `convshortcut`, or the convshortcut on the raw input
 * in group0, or nothing where the width does not change; imagenetEpsilonResnet.py:83-94, where T(F) = 0 leaves
 * `short_cut` alone).
 */
export function buildPreactResnetImagenet(
  ctx: BuildContext,
  name: string,
  o: PreactResnetImagenetParams,
): Model & OnnxExportable {
  const tf = ctx.tf;
  const { inputShape, numClasses } = modelFacts(ctx);
  const C = inputShape[2];
  const depth = o.depth as ImagenetDepth;
  const { bottleneck } = IMAGENET_DEPTHS[depth];
  const units = imagenetUnits(depth, o.units);
  const layout = groupLayout(units, o.structure, o.discard_first_block);
  const side = sideOutputSettings(o.side_output);
  const sideAfter = side ? (side.after ?? imagenetSidePosition(depth, units)) : null;

  const store = new ParamStore(tf, ctx.seed);
  const epsilon = o.epsilon === null ? undefined : scalarVariable(tf, o.epsilon);
  const gate: GateSettings = { epsilon, sharpness: o.gate_sharpness, testGate: o.test_gate };
  const width = o.base_width;
  const layers: Layer[] = [
    convLayer(makeConv(store, 'conv0', 7, C, width, 2, TP_CONV_INIT), 'conv0', {
      bn: makeBnRelu(store, 'conv0', width),
      relu: true,
    }),
    maxPoolLayer(3, 2, 'pool0'),
    tapLayer('conv0'),
  ];
  let ch = width;
  let sideBuilt = false;
  layout.forEach(({ shortcutOnly, blocks }, g) => {
    const features = width * 2 ** g;
    const out = bottleneck ? features * 4 : features;
    const groupStride = g > 0 ? 2 : 1;
    // Every group but a basic group0 changes width, so only that one (an identity shortcut) has nothing to build.
    if (shortcutOnly && ch !== out) {
      const scope = imagenetBlockName(g, 0);
      const shortcut = makeConv(store, `${scope}/convshortcut`, 1, ch, out, groupStride, TP_CONV_INIT);
      if (g > 0) layers.push(bnReluLayer(makeBnRelu(store, `${scope}/preact`, ch), `${scope}/preact/bn`));
      layers.push(convLayer(shortcut, `${scope}/convshortcut`));
      ch = out;
    }
    for (const i of blocks) {
      const block = imagenetBlockName(g, i);
      const stride = i === 0 ? groupStride : 1;
      const noPreact = i === 0 && g === 0;
      const pre = noPreact ? [] : [bnReluLayer(makeBnRelu(store, `${block}/preact`, ch), `${block}/preact/bn`)];
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
      let inCh = ch;
      const branch = specs.map(([k, outCh, s, withBn], j) => {
        const scope = `${block}/conv${j + 1}`;
        const c = makeConv(store, scope, k, inCh, outCh, s, TP_CONV_INIT);
        inCh = outCh;
        return convLayer(c, scope, withBn ? { bn: makeBnRelu(store, scope, outCh), relu: true } : {});
      });
      const shortcut =
        ch !== out
          ? [
              convLayer(
                makeConv(store, `${block}/convshortcut`, 1, ch, out, stride, TP_CONV_INIT),
                `${block}/convshortcut`,
              ),
            ]
          : [];
      ch = out;
      const b: ResidualBlock = {
        name: block,
        pre,
        branch,
        shortcut,
        shortcutReads: i === 0 && g > 0 ? 'pre' : 'input',
      };
      if (block === sideAfter) {
        b.side = sideHead(store, `group${g}/side_output/block${i}`, ch, numClasses, side!.weight);
        sideBuilt = true;
      }
      b.gate = { ...gate, lastGate: makeLastGate(store, block, { epsilon: o.epsilon, testGate: o.test_gate }) };
      layers.push(residualLayer(b));
    }
    layers.push(tapLayer(`group${g}`));
  });
  if (sideAfter !== null && !sideBuilt)
    throw new Error(`side_output.after: ${sideAfter} is not a block of ResNet-${o.depth}`);
  return network(
    tf,
    {
      name,
      inputShape,
      numClasses,
      variables: store.variables,
      parts: [
        ['conv0', (v) => v.startsWith('conv0/')],
        ['side_output', (v) => v.includes('/side_output/')],
        ...layout.map((_, g): [string, (v: string) => boolean] => [`group${g}`, (v) => v.startsWith(`group${g}/`)]),
        ['head', (v) => v.startsWith('bnlast/') || v.startsWith('linear/')],
      ],
      epsilon,
    },
    layers,
    tensorpackHead(store, ch, numClasses),
  );
}

/** A component of the family, `depth` its default depth; models are named `<type>-<depth>`. */
export function preactResnetImagenetVariant(v: { type: string; doc: string; depth: ImagenetDepth }) {
  return defineComponent({
    kind: 'model',
    type: v.type,
    doc: v.doc,
    params: preactResnetImagenetParams(v.depth),
    check: (params, at) => preactImagenetProblems(params).map((p) => error(p.message, at(p.path))),
    compression: preactResnetImagenetCompression,
    parts: () => ({ taps: ['conv0', 'group0', 'group1', 'group2', 'group3'], stages: [] }),
    build: (params, ctx): Model => buildPreactResnetImagenet(ctx, `${v.type}-${params.depth}`, params),
  });
}
