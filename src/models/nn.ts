import type * as tfc from '@tensorflow/tfjs-core';
import { batchNormTraining } from '../backends/fused/batch-norm-training.js';
import type { NamedVariable } from './types.js';

type TF = typeof tfc;
export type Padding = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** Initialisers as the two seed projects use them. */
export type Init =
  | { kind: 'he-fan-out-truncated' } // TF1 variance_scaling_initializer(factor=2, FAN_OUT): truncated normal, stddev sqrt(1.3*2/fan_out)
  | { kind: 'he-fan-in-truncated' } // TF1 variance_scaling_initializer() default (FAN_IN), used by tensorpack's FC
  | { kind: 'kaiming-normal-fan-out' } // torch kaiming_normal_(mode='fan_out', nonlinearity='relu'): normal, std sqrt(2/fan_out)
  | { kind: 'torch-default' } // torch Linear/Conv default: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))
  | { kind: 'zeros' }
  | { kind: 'ones' };

/** Creates named variables with seeded initial values; every model builds its parameters through one store. */
export class ParamStore {
  readonly variables: NamedVariable[] = [];
  private counter = 0;
  constructor(
    private readonly tf: TF,
    private readonly seed: number,
  ) {}

  private nextSeed(): number {
    this.counter += 1;
    return (this.seed * 1000003 + this.counter * 7919) % 2147483647;
  }

  create(
    name: string,
    shape: number[],
    init: Init,
    opts: { decay?: boolean; trainable?: boolean; fanIn?: number; fanOut?: number } = {},
  ): tfc.Variable {
    const tf = this.tf;
    if (this.variables.some((v) => v.name === name)) throw new Error(`duplicate variable name ${name}`);
    const fanIn = opts.fanIn ?? 1;
    const fanOut = opts.fanOut ?? 1;
    const value = tf.tidy(() => {
      switch (init.kind) {
        case 'he-fan-out-truncated':
          return tf.truncatedNormal(shape, 0, Math.sqrt((1.3 * 2) / fanOut), 'float32', this.nextSeed());
        case 'he-fan-in-truncated':
          return tf.truncatedNormal(shape, 0, Math.sqrt((1.3 * 2) / fanIn), 'float32', this.nextSeed());
        case 'kaiming-normal-fan-out':
          return tf.randomNormal(shape, 0, Math.sqrt(2 / fanOut), 'float32', this.nextSeed());
        case 'torch-default': {
          const bound = 1 / Math.sqrt(fanIn);
          return tf.randomUniform(shape, -bound, bound, 'float32', this.nextSeed());
        }
        case 'zeros':
          return tf.zeros(shape);
        case 'ones':
          return tf.ones(shape);
      }
    });
    const trainable = opts.trainable ?? true;
    const variable = tf.variable(value, trainable, `${name}_${this.tf.util.now().toString(36)}_${this.counter}`);
    value.dispose();
    this.variables.push({ name, variable, decay: opts.decay ?? false, trainable });
    return variable;
  }
}

export interface Conv {
  W: tfc.Variable;
  stride: number;
  padding: Padding;
  kernel: number;
  inCh: number;
  outCh: number;
}

export function makeConv(
  store: ParamStore,
  name: string,
  k: number,
  inCh: number,
  outCh: number,
  stride: number,
  init: Init,
  padding: Padding = 'same',
): Conv {
  const W = store.create(`${name}/W`, [k, k, inCh, outCh], init, {
    decay: true,
    fanIn: k * k * inCh,
    fanOut: k * k * outCh,
  });
  return { W, stride, padding, kernel: k, inCh, outCh };
}

export function conv(tf: TF, c: Conv, x: tfc.Tensor4D): tfc.Tensor4D {
  return tf.conv2d(x, c.W as tfc.Tensor4D, c.stride, c.padding);
}

/** PyTorch-style explicit symmetric padding for a k×k conv: `padding=k//2`, unlike TF's uneven 'same' at stride 2. */
export function torchPadding(k: number): Padding {
  const p = Math.floor(k / 2);
  return [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ];
}

export interface BatchNorm {
  gamma: tfc.Variable;
  beta: tfc.Variable;
  mean: tfc.Variable;
  variance: tfc.Variable;
  momentum: number;
  epsilon: number;
}

export function makeBatchNorm(
  store: ParamStore,
  name: string,
  ch: number,
  momentum: number,
  epsilon: number,
): BatchNorm {
  return {
    gamma: store.create(`${name}/gamma`, [ch], { kind: 'ones' }),
    beta: store.create(`${name}/beta`, [ch], { kind: 'zeros' }),
    mean: store.create(`${name}/mean`, [ch], { kind: 'zeros' }, { trainable: false }),
    variance: store.create(`${name}/variance`, [ch], { kind: 'ones' }, { trainable: false }),
    momentum,
    epsilon,
  };
}

/** Batch norm: batch statistics in training mode (running statistics updated when asked, with `momentum` instead of the layer's own if given), running ones otherwise. */
export function batchNorm(
  tf: TF,
  bn: BatchNorm,
  x: tfc.Tensor4D,
  training: boolean,
  updateStats: boolean,
  momentum?: number,
): tfc.Tensor4D {
  if (!training)
    return tf.batchNorm4d(
      x,
      bn.mean as tfc.Tensor1D,
      bn.variance as tfc.Tensor1D,
      bn.beta as tfc.Tensor1D,
      bn.gamma as tfc.Tensor1D,
      bn.epsilon,
    );
  // One fused kernel and gradient where the backend has them (libtorch), else moments + batchNorm: the same numbers.
  const fused = batchNormTraining(tf, x, bn.gamma as tfc.Tensor1D, bn.beta as tfc.Tensor1D, bn.epsilon);
  const { mean, variance } = fused ?? tf.moments(x, [0, 1, 2]);
  if (updateStats) {
    const m = momentum ?? bn.momentum;
    tf.tidy(() => {
      bn.mean.assign(tf.add(tf.mul(bn.mean, m), tf.mul(mean, 1 - m)));
      bn.variance.assign(tf.add(tf.mul(bn.variance, m), tf.mul(variance, 1 - m)));
    });
  }
  return (
    fused?.y ??
    tf.batchNorm4d(
      x,
      mean as tfc.Tensor1D,
      variance as tfc.Tensor1D,
      bn.beta as tfc.Tensor1D,
      bn.gamma as tfc.Tensor1D,
      bn.epsilon,
    )
  );
}

export interface Dense {
  W: tfc.Variable;
  b: tfc.Variable;
}

export function makeDense(
  store: ParamStore,
  name: string,
  inDim: number,
  outDim: number,
  init: Init,
  biasInit: Init = { kind: 'zeros' },
): Dense {
  return {
    W: store.create(`${name}/W`, [inDim, outDim], init, { decay: true, fanIn: inDim, fanOut: outDim }),
    b: store.create(`${name}/b`, [outDim], biasInit, { fanIn: inDim }),
  };
}

export function dense(tf: TF, d: Dense, x: tfc.Tensor2D): tfc.Tensor2D {
  return tf.add(tf.matMul(x, d.W as tfc.Tensor2D), d.b) as tfc.Tensor2D;
}

export function globalAvgPool(tf: TF, x: tfc.Tensor4D): tfc.Tensor2D {
  return tf.mean(x, [1, 2]) as tfc.Tensor2D;
}

/** FLOPs (2 × MACs) of a conv layer on an input of spatial size h×w with 'same'-style output size. */
export function convFlops(c: Conv, h: number, w: number): { flops: number; outH: number; outW: number } {
  const outH = Math.ceil(h / c.stride);
  const outW = Math.ceil(w / c.stride);
  return { flops: 2 * outH * outW * c.kernel * c.kernel * c.inCh * c.outCh, outH, outW };
}

export function parameterCount(vars: NamedVariable[]): number {
  return vars.filter((v) => v.trainable).reduce((n, v) => n + v.variable.size, 0);
}
