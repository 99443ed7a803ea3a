import { Type, type Static } from '@sinclair/typebox';
import type * as tfc from '@tensorflow/tfjs-core';
import type { ParamStore } from './nn.js';
import type { BnMode } from './common.js';
import type { OnnxGraph, OnnxValue } from './onnx/graph.js';

type TF = typeof tfc;

/** The gate of one residual block for one batch, with the |F| statistics the original logs beside it (EpsilonResnetBase.py:23-24). */
export interface GateValues {
  gate: tfc.Scalar;
  absMax: tfc.Scalar;
  absMean: tfc.Scalar;
}

/**
 * ε-ResNet's strict identity (yuxwind/epsilonResnet scripts/EpsilonResnetBase.py:22-29), the original's four ReLUs op for op: s = max over the WHOLE batch tensor of
 * relu(F − ε) + relu(−F − ε); T = relu(relu(s·(−L) + 1)·(−L) + 1). T is 0 when every |F| ≤ ε and 1 once some |F| > ε + 1/L;
 * its derivative is 0 outside that band, so the only gradient path is T·dL/dH, which is exactly 0 for a gated-off block.
 */
export function strictIdentity(tf: TF, F: tfc.Tensor, epsilon: tfc.Tensor, sharpness: number): GateValues {
  const s = tf.max(tf.add(tf.relu(tf.sub(F, epsilon)), tf.relu(tf.sub(tf.neg(F), epsilon))));
  const gate = tf.relu(tf.add(tf.mul(tf.relu(tf.add(tf.mul(s, -sharpness), 1)), -sharpness), 1)) as tfc.Scalar;
  const abs = tf.abs(F);
  return { gate, absMax: tf.max(abs) as tfc.Scalar, absMean: tf.mean(abs) as tfc.Scalar };
}

/**
 * The share of gated blocks discarded, the paper's "discarded layers": discarded blocks over all gated blocks, as the
 * ImageNet code divides (all_cnt = sum(defs), yuxwind/epsilonResnet scripts/imagenetEpsilonResnet.py:113, 159-161), whose
 * logged ratio the paper reports (20.12%, 25.60%, 36.23%). The CIFAR/SVHN code's all_cnt = n*3+2
 * (cifarEpsilonResnet.py:65) also counts conv0 and the FC, which no gate can discard; one definition serves both here.
 */
export function discardedRatio(discarded: number, blocks: number): number {
  return blocks === 0 ? 0 : discarded / blocks;
}

/** ε of the gate: null builds the standard ResNet (no gate). */
export const OptionalEpsilon = Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
  default: null,
  description:
    'ε of the strict-identity gate on every residual block (ε-ResNet); null for a standard ResNet without gates.',
});

export const GateSharpness = Type.Number({
  exclusiveMinimum: 0,
  default: 1e6,
  description: 'L in the gate T = relu(1 − L·relu(1 − L·s)); the original code uses 1e6.',
});

export const TestGateParam = Type.Union([Type.Literal('recompute'), Type.Literal('last-train')], {
  default: 'recompute',
  description:
    "Gate used in evaluation, no effect without ε: recompute on every test batch (the final code, default) or last-train, the last training batch's gate kept in a non-trainable <block>/identity (the 2018 first version).",
});

/** Which gate evaluation uses: the final code recomputes it on every test batch, the first version kept the last training batch's. */
export type TestGate = Static<typeof TestGateParam>;

/** The gate settings a network shares across its blocks. */
export interface GateSettings {
  /** Absent: a standard ResNet, no gate. */
  epsilon: tfc.Tensor | undefined;
  sharpness: number;
  testGate: TestGate;
}

/** The first version's non-trainable `<block>/identity` (initially 1), or null when the gate is recomputed at test time. */
export function makeLastGate(
  store: ParamStore,
  block: string,
  settings: { epsilon: number | null; testGate: TestGate },
): tfc.Variable | null {
  if (settings.epsilon === null || settings.testGate !== 'last-train') return null;
  return store.create(`${block}/identity`, [], { kind: 'ones' }, { trainable: false });
}

/**
 * A residual block's output: T(F)·F + shortcut with its reading recorded when ε is set, F + shortcut otherwise. With a
 * last-gate variable, training passes store T there and evaluation passes use it as the first version's
 * tf.where(identity == 0, shortcut, F + shortcut) did.
 */
export function residualOutput(
  tf: TF,
  F: tfc.Tensor4D,
  shortcut: tfc.Tensor4D,
  gate: GateSettings & {
    block: string;
    lastGate: tfc.Variable | null;
    mode: BnMode;
    readings: ({ block: string } & GateValues)[];
  },
): tfc.Tensor4D {
  if (!gate.epsilon) return tf.add(F, shortcut);
  const fixed = gate.mode.fixedGates?.[gate.block];
  if (fixed !== undefined) return fixed === 0 ? shortcut : tf.add(F, shortcut);
  if (gate.lastGate && !gate.mode.training)
    return tf.add(tf.mul(tf.cast(tf.notEqual(gate.lastGate, 0), 'float32'), F), shortcut);
  const g = strictIdentity(tf, F, gate.epsilon, gate.sharpness);
  if (gate.lastGate && gate.mode.updateStats) gate.lastGate.assign(g.gate);
  gate.readings.push({ block: gate.block, ...g });
  return tf.add(tf.mul(g.gate, F), shortcut);
}

/**
 * `residualOutput` in evaluation, as ONNX operations: with last-train the stored gate is a constant `<block>/gate`
 * (1 or 0); with recompute the four ReLUs of `strictIdentity` run on the block's response, the maximum taken over the
 * whole batch as the original does, so the exported graph gates a batch exactly as epsilab does.
 */
export function residualOutputOnnx(
  g: OnnxGraph,
  F: OnnxValue,
  shortcut: OnnxValue,
  gate: GateSettings & { block: string; lastGate: tfc.Variable | null },
): OnnxValue {
  const block = gate.block;
  if (!gate.epsilon) return g.add(F, shortcut, `${block}/add`);
  let T: OnnxValue;
  if (gate.lastGate) T = g.scalar(`${block}/gate`, gate.lastGate.dataSync()[0] !== 0 ? 1 : 0);
  else {
    const eps = g.scalar(`${block}/epsilon`, gate.epsilon.dataSync()[0]);
    const above = g.relu(g.op('Sub', [F.name, eps.name], F.shape, `${block}/F-eps`));
    const below = g.relu(
      g.op('Sub', [g.op('Neg', [F.name], F.shape, `${block}/-F`).name, eps.name], F.shape, `${block}/-F-eps`),
    );
    const s = g.reduceMaxAll(g.add(above, below, `${block}/outside`), `${block}/s`);
    const minusL = g.scalar(`${block}/-sharpness`, -gate.sharpness);
    const one = g.scalar(`${block}/one`, 1);
    const inner = g.relu(g.add(g.mul(s, minusL, `${block}/s*-L`), one, `${block}/s*-L+1`));
    T = g.relu(g.add(g.mul(inner, minusL, `${block}/inner*-L`), one, `${block}/inner*-L+1`), `${block}/gate`);
  }
  return g.add(g.mul(T, F, `${block}/gated`), shortcut, `${block}/add`);
}
