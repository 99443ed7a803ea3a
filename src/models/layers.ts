import type * as tfc from '@tensorflow/tfjs-core';
import type { GateReading, Model, ModelOutput, NamedVariable } from './types.js';
import { batchNorm, conv, convFlops, dense, globalAvgPool, type BatchNorm, type Conv, type Dense } from './nn.js';
import { blockScope, bnMode, groupVariables, tidyOutput, type BnMode } from './common.js';
import { residualOutput, residualOutputOnnx, type GateSettings } from './gate.js';
import type { OnnxExportable, OnnxGraph, OnnxValue } from './onnx/graph.js';

type TF = typeof tfc;

/** [height, width, channels] of one image's activations. */
export type Shape = [number, number, number];

/** What a layer sees of a forward pass: the mode, and where taps, gate readings and side logits go. */
export interface Pass {
  tf: TF;
  mode: BnMode;
  taps: Record<string, tfc.Tensor>;
  gates: GateReading[];
  auxLogits: ModelOutput['auxLogits'];
}

/**
 * One layer of a network description: the forward pass, the inference graph in ONNX and the cost all read the same
 * layers, so the exported graph and the FLOPs cannot drift from what the model computes.
 */
export interface Layer {
  forward(p: Pass, x: tfc.Tensor4D): tfc.Tensor4D;
  onnx(g: OnnxGraph, x: OnnxValue): OnnxValue;
  /** The output shape and the FLOPs (2 × MACs) on an input of `shape`; only convolutions and FCs count. */
  cost(shape: Shape): { shape: Shape; flops: number };
  /** A tap's name: the model returns this layer's input (= output) under it. */
  tap?: string;
}

/** The layers that end a network in logits. */
export interface Classifier {
  forward(p: Pass, x: tfc.Tensor4D): tfc.Tensor2D;
  onnx(g: OnnxGraph, x: OnnxValue): OnnxValue;
  /** 2 × in × out for the FC; the pooling and BN-ReLU count nothing. */
  flops: number;
}

function sequence(layers: readonly Layer[], p: Pass, x: tfc.Tensor4D): tfc.Tensor4D {
  return layers.reduce((l, layer) => layer.forward(p, l), x);
}

function sequenceOnnx(layers: readonly Layer[], g: OnnxGraph, x: OnnxValue): OnnxValue {
  return layers.reduce((l, layer) => layer.onnx(g, l), x);
}

function sequenceCost(layers: readonly Layer[], shape: Shape): { shape: Shape; flops: number } {
  return layers.reduce(
    (acc, layer) => {
      const c = layer.cost(acc.shape);
      return { shape: c.shape, flops: acc.flops + c.flops };
    },
    { shape, flops: 0 },
  );
}

function normalize(p: Pass, bn: BatchNorm, x: tfc.Tensor4D): tfc.Tensor4D {
  return batchNorm(p.tf, bn, x, p.mode.training, p.mode.updateStats, p.mode.statsMomentum);
}

/** A convolution, then its batch norm (folded into the ONNX Conv) and a ReLU where given; `scope` names its ONNX node. */
export function convLayer(c: Conv, scope: string, after: { bn?: BatchNorm; relu?: boolean } = {}): Layer {
  return {
    forward(p, x) {
      const y = conv(p.tf, c, x);
      const normed = after.bn ? normalize(p, after.bn, y) : y;
      return after.relu ? p.tf.relu(normed) : normed;
    },
    onnx(g, x) {
      const y = g.conv(x, c, scope, after.bn);
      return after.relu ? g.relu(y) : y;
    },
    cost([h, w]) {
      const f = convFlops(c, h, w);
      return { shape: [f.outH, f.outW, c.outCh], flops: f.flops };
    },
  };
}

/** tensorpack's BNReLU where no convolution precedes it (pre-activations, bnlast): a BatchNormalization node in ONNX. */
export function bnReluLayer(bn: BatchNorm, scope: string): Layer {
  return {
    forward: (p, x) => p.tf.relu(normalize(p, bn, x)),
    onnx: (g, x) => g.relu(g.batchNorm(x, bn, scope)),
    cost: (shape) => ({ shape, flops: 0 }),
  };
}

/** k×k max pooling with TF.js's 'same' padding. */
export function maxPoolLayer(k: number, stride: number, name: string): Layer {
  return {
    forward: (p, x) => p.tf.maxPool(x, k, stride, 'same'),
    onnx: (g, x) => g.maxPool(x, k, stride, 'same', name),
    cost: ([h, w, c]) => ({ shape: [Math.ceil(h / stride), Math.ceil(w / stride), c], flops: 0 }),
  };
}

/** Names the activations passing through it as a tap of the model's output. */
export function tapLayer(name: string): Layer {
  return {
    tap: name,
    forward(p, x) {
      p.taps[name] = x;
      return x;
    },
    onnx: (_g, x) => x,
    cost: (shape) => ({ shape, flops: 0 }),
  };
}

/** `pre` (tensorpack's bnlast BN-ReLU, or none) → global average pool → FC; `names` are the last two's ONNX nodes. */
export function classifier(pre: Layer | null, fc: Dense, names: { pool: string; fc: string }): Classifier {
  return {
    forward: (p, x) => dense(p.tf, fc, globalAvgPool(p.tf, pre ? pre.forward(p, x) : x)),
    onnx: (g, x) => g.dense(g.globalAvgPool(pre ? pre.onnx(g, x) : x, names.pool), fc, names.fc),
    flops: 2 * fc.W.size,
  };
}

/** A residual block: `pre` feeds the branch (and the shortcut where it reads `pre`), the two join, a ReLU may follow. */
export interface ResidualBlock {
  name: string;
  /** Layers before the split: the pre-activation BN-ReLU, or none. */
  pre: Layer[];
  branch: Layer[];
  /** The shortcut's layers (none: identity), or null for a plain block, whose output is the branch alone. */
  shortcut: Layer[] | null;
  /** The shortcut reads the block's input or, like tensorpack's both_preact blocks, the pre-activated one. */
  shortcutReads: 'input' | 'pre';
  /** The ε gate on the sum (its epsilon absent: a plain sum), with the block's last-train gate memory. */
  gate?: GateSettings & { lastGate: tfc.Variable | null };
  relu?: boolean;
  /** Side supervision reading the block's output, trained with `weight`, never exported or counted. */
  side?: { scope: string; weight: number; head: Classifier };
}

/** One residual block as a layer; in evaluation its intermediate tensors are freed when it ends. */
export function residualLayer(b: ResidualBlock): Layer {
  return {
    forward(p, x) {
      const out = blockScope(p.tf, p.mode.training, () => {
        const inner: Pass = { ...p, taps: {}, gates: [], auxLogits: [] };
        const pre = sequence(b.pre, inner, x);
        const F = sequence(b.branch, inner, pre);
        let y = F;
        if (b.shortcut) {
          const shortcut = sequence(b.shortcut, inner, b.shortcutReads === 'pre' ? pre : x);
          y = b.gate
            ? residualOutput(p.tf, F, shortcut, { ...b.gate, block: b.name, mode: p.mode, readings: inner.gates })
            : (p.tf.add(F, shortcut) as tfc.Tensor4D);
        }
        if (b.relu) y = p.tf.relu(y);
        const aux = b.side ? [{ name: b.side.scope, logits: b.side.head.forward(p, y), weight: b.side.weight }] : [];
        return { y, readings: inner.gates, aux };
      });
      p.gates.push(...out.readings);
      p.auxLogits.push(...out.aux);
      return out.y;
    },
    onnx(g, x) {
      const pre = sequenceOnnx(b.pre, g, x);
      const F = sequenceOnnx(b.branch, g, pre);
      let y = F;
      if (b.shortcut) {
        const shortcut = sequenceOnnx(b.shortcut, g, b.shortcutReads === 'pre' ? pre : x);
        y = b.gate
          ? residualOutputOnnx(g, F, shortcut, { ...b.gate, block: b.name })
          : g.add(F, shortcut, `${b.name}/add`);
      }
      return b.relu ? g.relu(y) : y;
    },
    cost(shape) {
      const pre = sequenceCost(b.pre, shape);
      const F = sequenceCost(b.branch, pre.shape);
      const shortcut = b.shortcut ? sequenceCost(b.shortcut, b.shortcutReads === 'pre' ? pre.shape : shape).flops : 0;
      return { shape: F.shape, flops: pre.flops + F.flops + shortcut };
    },
  };
}

/** What a network description holds besides its layers. */
export interface NetworkParts {
  name: string;
  inputShape: [number, number, number];
  numClasses: number;
  variables: NamedVariable[];
  /** The parts a variable may belong to (`stages`), each with its test of a variable's name; the first match wins. */
  parts: [string, (variable: string) => boolean][];
  epsilon?: tfc.Variable;
}

/** The model a network description gives: forward pass, ONNX graph and FLOPs all from `layers` and `head`. */
export function network(tf: TF, o: NetworkParts, layers: Layer[], head: Classifier): Model & OnnxExportable {
  const body = sequenceCost(layers, o.inputShape);
  const flops = body.flops + head.flops;
  const { parts, ...facts } = o;
  return {
    ...facts,
    stages: groupVariables(o.variables, parts),
    tapNames: layers.flatMap((l) => (l.tap ? [l.tap] : [])),
    apply(x, opts): ModelOutput {
      return tidyOutput(tf, () => {
        const p: Pass = { tf, mode: bnMode(opts), taps: {}, gates: [], auxLogits: [] };
        const logits = head.forward(p, sequence(layers, p, x));
        return { logits, taps: p.taps, auxLogits: p.auxLogits, gates: p.gates };
      });
    },
    exportOnnx: (g) => head.onnx(g, sequenceOnnx(layers, g, g.input)),
    flops: () => flops,
    dispose() {
      for (const v of o.variables) v.variable.dispose();
      o.epsilon?.dispose();
    },
  };
}
