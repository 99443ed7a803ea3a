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
import type { OnnxExportable, OnnxGraph, OnnxValue } from './onnx/graph.js';
import { blockName, defaultSidePosition, stageLayout, unitsFromDepth } from './preact-structure.js';
import { makeSideHead, type SideHead } from './side-output.js';
import { bnRelu, makeBnRelu, TP_CONV_INIT, TP_FC_INIT } from './tensorpack.js';

type TF = typeof tfc;

export interface PreactCifarOptions {
  depth: number;
  /** null: standard ResNet, no gate. */
  epsilon: number | null;
  gateSharpness: number;
  testGate: TestGate;
  sideOutput: { weight: number; after: string | null } | null;
  structure: readonly number[] | null;
  discardFirstBlock: readonly number[];
}

interface Block {
  name: string;
  /** BNReLU before conv1; null for res1.0, which takes conv0's output as it is. */
  preact: BatchNorm | null;
  conv1: Conv;
  bn1: BatchNorm;
  conv2: Conv;
  /** The last training batch's gate, for test_gate: last-train. */
  lastGate: tfc.Variable | null;
  /** First block of stages 2 and 3: stride 2, twice the channels, option-A shortcut. */
  increaseDim: boolean;
}

/** Option A: 2×2 average pool of the raw input, then zero channels, half before and half after (cifarEpsilonResnet.py:83-84). */
function optionA(tf: TF, x: tfc.Tensor4D): tfc.Tensor4D {
  const ch = x.shape[3];
  return tf.pad(tf.avgPool(x, 2, 2, 'valid'), [
    [0, 0],
    [0, 0],
    [0, 0],
    [Math.floor(ch / 2), Math.floor(ch / 2)],
  ]);
}

/** optionA in ONNX: AveragePool 2×2/2, then Pad on the channel axis. */
function optionAOnnx(g: OnnxGraph, x: OnnxValue, base: string): OnnxValue {
  const ch = x.shape[0];
  return g.padChannels(g.avgPool(x, 2, 2, `${base}/avgpool`), Math.floor(ch / 2), Math.floor(ch / 2), `${base}/pad`);
}

/**
 * The ε-ResNet code's CIFAR/SVHN full pre-activation ResNet (yuxwind/epsilonResnet scripts/cifarEpsilonResnet.py:59-125), tensorpack variable names (conv0/W, conv0/bn/gamma,
 * res2.3/bn/* for the pre-activation, res2.3/conv1/W, res2.3/conv1/bn/*, res2.3/conv2/W, bnlast/bn/*, linear/W, linear/b,
 * side_output/res2.9/{bnlast/bn,linear}/*), with an optional ε gate on every block and an optional side head.
 */
export function buildPreactCifar(ctx: BuildContext, name: string, o: PreactCifarOptions): Model & OnnxExportable {
  const tf = ctx.tf;
  const { inputShape, numClasses } = modelFacts(ctx);
  const [H, W, C] = inputShape;
  if (H % 4 !== 0 || W % 4 !== 0)
    throw new Error(
      `the option-A shortcut halves the image twice: height and width must be multiples of 4 (got ${H}×${W})`,
    );
  const n = unitsFromDepth(o.depth);
  const layout = stageLayout(n, o.structure, o.discardFirstBlock);
  const sideAfter = o.sideOutput ? (o.sideOutput.after ?? defaultSidePosition(n)) : null;

  const store = new ParamStore(tf, ctx.seed);
  const conv0 = makeConv(store, 'conv0', 3, C, 16, 1, TP_CONV_INIT);
  const conv0bn = makeBnRelu(store, 'conv0', 16);
  let flops = convFlops(conv0, H, W).flops;
  let [h, w, ch] = [H, W, 16];
  let side: SideHead | null = null;
  const stages = layout.map(({ stage, downsampleOnly, blocks }) => {
    if (downsampleOnly) [h, w, ch] = [h / 2, w / 2, ch * 2];
    const built = blocks.map((i): Block => {
      const increaseDim = stage > 1 && i === 0;
      const block = blockName(stage, i);
      const out = increaseDim ? ch * 2 : ch;
      const b: Block = {
        name: block,
        preact: stage === 1 && i === 0 ? null : makeBnRelu(store, block, ch),
        conv1: makeConv(store, `${block}/conv1`, 3, ch, out, increaseDim ? 2 : 1, TP_CONV_INIT),
        bn1: makeBnRelu(store, `${block}/conv1`, out),
        conv2: makeConv(store, `${block}/conv2`, 3, out, out, 1, TP_CONV_INIT),
        lastGate: makeLastGate(store, block, o),
        increaseDim,
      };
      const c1 = convFlops(b.conv1, h, w);
      [h, w, ch] = [c1.outH, c1.outW, out];
      flops += c1.flops + convFlops(b.conv2, h, w).flops;
      if (block === sideAfter)
        side = makeSideHead(store, `side_output/${block}`, block, ch, numClasses, o.sideOutput!.weight);
      return b;
    });
    return { stage, downsampleOnly, blocks: built };
  });
  if (sideAfter !== null && side === null)
    throw new Error(`side_output.after: ${sideAfter} is not a block of this network`);
  const bnlast = makeBnRelu(store, 'bnlast', ch);
  const linear = makeDense(store, 'linear', ch, numClasses, TP_FC_INIT);
  flops += 2 * ch * numClasses;
  const epsilon = o.epsilon === null ? undefined : scalarVariable(tf, o.epsilon);
  const gate: GateSettings = { epsilon, sharpness: o.gateSharpness, testGate: o.testGate };
  const head = side as SideHead | null;

  return {
    name,
    inputShape,
    numClasses,
    variables: store.variables,
    tapNames: ['conv0', ...stages.map((s) => `res${s.stage}`)],
    stages: groupVariables(store.variables, [
      ['conv0', (v) => v.startsWith('conv0/')],
      ...stages.map((s): [string, (v: string) => boolean] => [`res${s.stage}`, (v) => v.startsWith(`res${s.stage}.`)]),
      ['head', (v) => v.startsWith('bnlast/') || v.startsWith('linear/')],
      ['side_output', (v) => v.startsWith('side_output/')],
    ]),
    epsilon,
    apply(x, opts): ModelOutput {
      return tidyOutput(tf, () => {
        const mode = bnMode(opts);
        const taps: Record<string, tfc.Tensor> = {};
        const gates: GateReading[] = [];
        const auxLogits: ModelOutput['auxLogits'] = [];
        let l = bnRelu(tf, conv0bn, conv(tf, conv0, x), mode);
        taps.conv0 = l;
        for (const s of stages) {
          if (s.downsampleOnly) l = optionA(tf, l);
          for (const b of s.blocks) {
            const x = l;
            l = gatedBlock(tf, mode, { gates, auxLogits }, b, gate, head, () => ({
              F: conv(
                tf,
                b.conv2,
                bnRelu(tf, b.bn1, conv(tf, b.conv1, b.preact ? bnRelu(tf, b.preact, x, mode) : x), mode),
              ),
              shortcut: b.increaseDim ? optionA(tf, x) : x,
            }));
          }
          taps[`res${s.stage}`] = l;
        }
        const logits = dense(tf, linear, globalAvgPool(tf, bnRelu(tf, bnlast, l, mode)));
        return { logits, taps, auxLogits, gates };
      });
    },
    exportOnnx(g) {
      let l = g.relu(g.conv(g.input, conv0, 'conv0', conv0bn));
      for (const s of stages) {
        if (s.downsampleOnly) l = optionAOnnx(g, l, `res${s.stage}/downsample`);
        for (const b of s.blocks) {
          const pre = b.preact ? g.relu(g.batchNorm(l, b.preact, `${b.name}/bn`)) : l;
          const F = g.conv(g.relu(g.conv(pre, b.conv1, `${b.name}/conv1`, b.bn1)), b.conv2, `${b.name}/conv2`);
          const shortcut = b.increaseDim ? optionAOnnx(g, l, `${b.name}/shortcut`) : l;
          l = residualOutputOnnx(g, F, shortcut, { ...gate, block: b.name, lastGate: b.lastGate });
        }
      }
      return g.dense(g.globalAvgPool(g.relu(g.batchNorm(l, bnlast, 'bnlast/bn')), 'gap'), linear, 'linear');
    },
    flops: () => flops,
    dispose() {
      for (const v of store.variables) v.variable.dispose();
      epsilon?.dispose();
    },
  };
}
