import type * as tf from '@tensorflow/tfjs-core';

/** The model contract: named variables, a forward pass with taps and gate readings. */

/** A trainable or state variable with its checkpoint name (tensorpack style: `res2.3/conv1/W`, `bnlast/mean`). */
export interface NamedVariable {
  name: string;
  variable: tf.Variable;
  /** Whether weight decay applies (conv and FC kernels only). */
  decay: boolean;
  trainable: boolean;
}

/** A residual gate's readings for one step (ε-ResNet). */
export interface GateReading {
  block: string;
  /** The scalar gate T(F): 1 keeps the block, 0 discards it. */
  gate: tf.Scalar;
  absMax: tf.Scalar;
  absMean: tf.Scalar;
}

export interface ModelOutput {
  logits: tf.Tensor2D;
  /** Named intermediate outputs (stage outputs for distillation: `stem`, `layer1`, ...). */
  taps: Record<string, tf.Tensor>;
  /** Auxiliary classifier heads trained with their own weight, never used for prediction. */
  auxLogits: { name: string; logits: tf.Tensor2D; weight: number }[];
  gates: GateReading[];
}

export interface ForwardOptions {
  training: boolean;
  /** Update batch-norm running statistics (training mode only). */
  updateStats?: boolean;
  /** Momentum of this pass's running-statistics update instead of each layer's own (recalibration averages batches with 1 − 1/k). */
  statsMomentum?: number;
  /** The gate of each named block for this pass instead of the computed one (recalibration holds the final gates). */
  fixedGates?: Record<string, number>;
}

/** What a model component builds. */
export interface Model {
  name: string;
  inputShape: [number, number, number];
  numClasses: number;
  variables: NamedVariable[];
  /** Names of the taps `apply` can return, in order. */
  tapNames: string[];
  /** Variable names per named part (`stem`, `layer1`, ...), so a distillation stage can train one part only. */
  stages?: Record<string, string[]>;
  /** The ε of every residual gate (ε-ResNet), a scalar a schedule may assign; absent without gates. */
  epsilon?: tf.Variable;
  apply(x: tf.Tensor4D, opts: ForwardOptions): ModelOutput;
  /** Multiply-accumulates of one forward pass of one image, times two. */
  flops(): number;
  dispose(): void;
}
