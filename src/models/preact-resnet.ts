/**
 * The ε-ResNet code's CIFAR/SVHN pre-activation ResNet family in one place: its parameters, its rules, its builder and
 * the components over it (`preact-resnet`, `epsilon-resnet`), which differ only in defaults.
 */
import { Type, type Static, type TNumber } from '@sinclair/typebox';
import { defineComponent, type BuildContext, type ModelCompression } from '../registry/component.js';
import { error } from '../util/diagnostics.js';
import { UserError } from '../util/errors.js';
import type { Model } from './types.js';
import { makeConv, ParamStore } from './nn.js';
import { modelFacts, scalarVariable } from './common.js';
import { GateSharpness, makeLastGate, TestGateParam, type GateSettings, type OptionalEpsilon } from './gate.js';
import { bnReluLayer, convLayer, network, residualLayer, tapLayer, type Layer, type ResidualBlock } from './layers.js';
import type { OnnxExportable } from './onnx/graph.js';
import { groupLayout, type ParamProblem } from './preact-structure.js';
import { sideHead, sideOutputSettings, type SideOutput } from './side-output.js';
import { makeBnRelu, tensorpackHead, TP_CONV_INIT } from './tensorpack.js';

const STAGES = [1, 2, 3] as const;

export function blockName(stage: number, index: number): string {
  return `res${stage}.${index}`;
}

/** Blocks per stage of a depth-(6n+2) network: 3 stages × n blocks × 2 convs, plus conv0 and the FC. */
export function unitsFromDepth(depth: number): number {
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) {
    throw new Error(`depth must be 6n+2 with n ≥ 1 (8, 14, 20, 32, 44, 56, 110, 200, 500, 752, ...); got ${depth}`);
  }
  return (depth - 2) / 6;
}

/**
 * How compression removes the family's blocks: a compressed network is a plain `preact-resnet` of the same depth
 * with the kept blocks' layout (compressModel.py:170-181 writes it to its .cfg); the side head belongs to no block.
 */
export function preactResnetCompression(
  p: Partial<Pick<PreactResnetParams, 'structure' | 'discard_first_block'>> & { depth: number },
): ModelCompression {
  const n = unitsFromDepth(p.depth);
  return {
    units: [n, n, n],
    firstGroup: 1,
    name: blockName,
    blockOf: (v) => (v.startsWith('side_output/') ? null : (/^(res\d+\.\d+)\//.exec(v)?.[1] ?? v)),
    structure: p.structure ?? null,
    discardFirstBlock: p.discard_first_block ?? [0, 0, 0],
    section: (structure, discardFirstBlock) => ({
      type: 'preact-resnet',
      depth: p.depth,
      epsilon: null,
      side_output: null,
      structure,
      discard_first_block: discardFirstBlock,
    }),
  };
}

/** The original's side-output position (cifarEpsilonResnet.py:116-117): after res2.{n/2} (Python 2 division), the middle block of the middle stage. */
function defaultSidePosition(n: number): string {
  return blockName(2, Math.floor(n / 2));
}

interface StageLayout {
  stage: number;
  /** Stage 2 or 3 whose first block was discarded: it opens with the option-A shortcut alone (compressModel.py). */
  downsampleOnly: boolean;
  /** Indices of the blocks built, in order; `res<stage>.<index>`. */
  blocks: number[];
}

/**
 * Blocks each stage builds. Without `structure` every stage has blocks 0..n-1. With it (a compressed model) stage s keeps
 * structure[s] blocks numbered from discard_first_block[s]: from 1 when its first block was discarded.
 */
function stageLayout(
  n: number,
  structure: readonly number[] | null,
  discardFirstBlock: readonly number[],
): StageLayout[] {
  return groupLayout([n, n, n], structure, discardFirstBlock, 'stage').map((g, s) => ({
    stage: STAGES[s],
    downsampleOnly: s > 0 && g.shortcutOnly,
    blocks: g.blocks,
  }));
}

/** What the family's components differ in: the default depth, and the schemas of `epsilon` and `side_output`. */
interface PreactResnetDefaults {
  depth: number;
  epsilon: TNumber | typeof OptionalEpsilon;
  side_output: ReturnType<typeof SideOutput>;
}

/** The family's parameters with a component's defaults. */
function preactResnetParams(d: PreactResnetDefaults) {
  return Type.Object(
    {
      depth: Type.Integer({
        minimum: 8,
        default: d.depth,
        description: 'Layers, 6n+2 (n blocks per stage): 20, 56, 110 (n=18), 200 (33), 500 (83), 752 (125).',
      }),
      gate_sharpness: GateSharpness,
      test_gate: TestGateParam,
      structure: Type.Union([Type.Array(Type.Integer({ minimum: 0 }), { minItems: 3, maxItems: 3 }), Type.Null()], {
        default: null,
        description: 'Compressed model: blocks kept per stage, as `epsilab compress` writes it; null keeps all n.',
      }),
      discard_first_block: Type.Array(Type.Integer({ minimum: 0, maximum: 1 }), {
        minItems: 3,
        maxItems: 3,
        default: [0, 0, 0],
        description:
          "Compressed model: 1 where a stage's first block was discarded (that stage opens with its shortcut alone and numbers kept blocks from 1).",
      }),
      epsilon: d.epsilon,
      side_output: d.side_output,
    },
    { additionalProperties: false },
  );
}

/** A model section of the family, as its schema gives it to `check` and `build`. */
export type PreactResnetParams = Static<ReturnType<typeof preactResnetParams>>;

/** The builder's own rules (depth 6n+2, structure, side position), checked before anything is built. */
export function preactCifarProblems(
  p: Pick<PreactResnetParams, 'depth' | 'structure' | 'discard_first_block' | 'side_output'>,
): ParamProblem[] {
  let n: number;
  try {
    n = unitsFromDepth(p.depth);
  } catch (e) {
    return [{ path: 'depth', message: (e as Error).message }];
  }
  let blocks: string[];
  try {
    blocks = stageLayout(n, p.structure, p.discard_first_block).flatMap((s) =>
      s.blocks.map((i) => blockName(s.stage, i)),
    );
  } catch (e) {
    return [{ path: p.structure === null ? 'discard_first_block' : 'structure', message: (e as Error).message }];
  }
  const after = sideOutputSettings(p.side_output)?.after;
  return after && !blocks.includes(after)
    ? [
        {
          path: 'side_output.after',
          message: `${after} is not a block of this network (${blocks[0]} … ${blocks[blocks.length - 1]})`,
        },
      ]
    : [];
}

/** Images the network cannot take: option A halves them twice, so both sides must be multiples of 4. */
function inputShapeProblem([h, w]: [number, number, number]): string | null {
  return h % 4 !== 0 || w % 4 !== 0 || h < 4 || w < 4
    ? `the option-A shortcut halves the image twice: height and width must be multiples of 4 (got ${h}×${w}); resize or crop the images (a transform), or choose another dataset size`
    : null;
}

/** Option A (cifarEpsilonResnet.py:83-84): 2×2 average pool of the raw input, then zero channels, half before and half after. */
function optionALayer(base: string): Layer {
  return {
    forward(p, x) {
      const half = Math.floor(x.shape[3] / 2);
      return p.tf.pad(p.tf.avgPool(x, 2, 2, 'valid'), [
        [0, 0],
        [0, 0],
        [0, 0],
        [half, half],
      ]);
    },
    onnx(g, x) {
      const half = Math.floor(x.shape[0] / 2);
      return g.padChannels(g.avgPool(x, 2, 2, `${base}/avgpool`), half, half, `${base}/pad`);
    },
    cost: ([h, w, c]) => ({ shape: [Math.floor(h / 2), Math.floor(w / 2), c + 2 * Math.floor(c / 2)], flops: 0 }),
  };
}

/**
 * The ε-ResNet code's CIFAR/SVHN full pre-activation ResNet (yuxwind/epsilonResnet scripts/cifarEpsilonResnet.py:59-125), tensorpack variable names (conv0/W, conv0/bn/gamma,
 * res2.3/bn/* for the pre-activation, res2.3/conv1/W, res2.3/conv1/bn/*, res2.3/conv2/W, bnlast/bn/*, linear/W, linear/b,
 * side_output/res2.9/{bnlast/bn,linear}/*), with an optional ε gate on every block and an optional side head.
 */
export function buildPreactResnet(ctx: BuildContext, name: string, o: PreactResnetParams): Model & OnnxExportable {
  const tf = ctx.tf;
  const { inputShape, numClasses } = modelFacts(ctx);
  const [, , C] = inputShape;
  const problem = inputShapeProblem(inputShape);
  if (problem) throw new UserError(`${name}: ${problem}`);
  const n = unitsFromDepth(o.depth);
  const layout = stageLayout(n, o.structure, o.discard_first_block);
  const side = sideOutputSettings(o.side_output);
  const sideAfter = side ? (side.after ?? defaultSidePosition(n)) : null;
  const store = new ParamStore(tf, ctx.seed);
  const epsilon = o.epsilon === null ? undefined : scalarVariable(tf, o.epsilon);
  const gate: GateSettings = { epsilon, sharpness: o.gate_sharpness, testGate: o.test_gate };
  const lastGateOf = (block: string) => makeLastGate(store, block, { epsilon: o.epsilon, testGate: o.test_gate });
  const layers: Layer[] = [
    convLayer(makeConv(store, 'conv0', 3, C, 16, 1, TP_CONV_INIT), 'conv0', {
      bn: makeBnRelu(store, 'conv0', 16),
      relu: true,
    }),
    tapLayer('conv0'),
  ];
  let ch = 16;
  let sideBuilt = false;
  for (const { stage, downsampleOnly, blocks } of layout) {
    if (downsampleOnly) {
      layers.push(optionALayer(`res${stage}/downsample`));
      ch *= 2;
    }
    for (const i of blocks) {
      const increaseDim = stage > 1 && i === 0;
      const block = blockName(stage, i);
      const out = increaseDim ? ch * 2 : ch;
      const b: ResidualBlock = {
        name: block,
        pre: stage === 1 && i === 0 ? [] : [bnReluLayer(makeBnRelu(store, block, ch), `${block}/bn`)],
        branch: [
          convLayer(
            makeConv(store, `${block}/conv1`, 3, ch, out, increaseDim ? 2 : 1, TP_CONV_INIT),
            `${block}/conv1`,
            {
              bn: makeBnRelu(store, `${block}/conv1`, out),
              relu: true,
            },
          ),
          convLayer(makeConv(store, `${block}/conv2`, 3, out, out, 1, TP_CONV_INIT), `${block}/conv2`),
        ],
        shortcut: increaseDim ? [optionALayer(`${block}/shortcut`)] : [],
        shortcutReads: 'input',
        gate: { ...gate, lastGate: lastGateOf(block) },
      };
      ch = out;
      if (block === sideAfter) {
        b.side = sideHead(store, `side_output/${block}`, ch, numClasses, side!.weight);
        sideBuilt = true;
      }
      layers.push(residualLayer(b));
    }
    layers.push(tapLayer(`res${stage}`));
  }
  if (sideAfter !== null && !sideBuilt)
    throw new Error(`side_output.after: ${sideAfter} is not a block of this network`);
  return network(
    tf,
    {
      name,
      inputShape,
      numClasses,
      variables: store.variables,
      parts: [
        ['conv0', (v) => v.startsWith('conv0/')],
        ...layout.map((s): [string, (v: string) => boolean] => [
          `res${s.stage}`,
          (v) => v.startsWith(`res${s.stage}.`),
        ]),
        ['head', (v) => v.startsWith('bnlast/') || v.startsWith('linear/')],
        ['side_output', (v) => v.startsWith('side_output/')],
      ],
      epsilon,
    },
    layers,
    tensorpackHead(store, ch, numClasses),
  );
}

/**
 * A component of the family: `depth` defaults to `depth`, `epsilon` and `side_output` are the variant's schemas (what
 * an ε-ResNet config may leave out); models are named `<type>-<depth>`.
 */
export function preactResnetVariant(v: { type: string; doc: string } & PreactResnetDefaults) {
  return defineComponent({
    kind: 'model',
    type: v.type,
    doc: v.doc,
    params: preactResnetParams(v),
    check: (params, at) => preactCifarProblems(params).map((p) => error(p.message, at(p.path))),
    inputProblem: (params, shape) => {
      const problem = inputShapeProblem(shape);
      return problem && `${v.type}-${params.depth}: ${problem}`;
    },
    compression: preactResnetCompression,
    parts: () => ({ taps: ['conv0', ...STAGES.map((s) => `res${s}`)], stages: [] }),
    build: (params, ctx): Model => buildPreactResnet(ctx, `${v.type}-${params.depth}`, params),
  });
}
