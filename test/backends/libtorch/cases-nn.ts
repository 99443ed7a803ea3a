import { batchNorm, type BatchNorm } from '../../../src/models/nn.js';
import { tf } from '../../../src/backends/tfjs.js';
import type { Case } from './cases-elementwise.js';
import { uniform, type Rand } from './helpers.js';
import { reluGradient } from '../../../src/backends/fused/relu-gradient.js';
import { momentumUpdate } from '../../../src/backends/fused/momentum-update.js';
import { adamUpdate } from '../../../src/backends/fused/adam-update.js';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** One Nesterov momentum update with weight decay: the fused kernel on libtorch, the separate ops on cpu. */
function momentumStep(r: Rand): tf.Tensor[] {
  const [w, accum, g, lr, wd] = [
    uniform(r, [3, 3, 4, 5]),
    uniform(r, [3, 3, 4, 5]),
    uniform(r, [3, 3, 4, 5]),
    tf.scalar(0.1),
    tf.scalar(5e-4),
  ];
  const fused = momentumUpdate(tf, w, accum, g, lr, wd, 0.9, true);
  if (fused) return [fused.w, fused.accum];
  const gd = tf.add(g, tf.mul(w, wd));
  const next = tf.add(tf.mul(accum, 0.9), gd);
  return [tf.sub(w, tf.mul(tf.add(gd, tf.mul(next, 0.9)), lr)), next];
}

/** One Adam update with L2 decay: the fused kernel on libtorch, the separate ops of optimizer/adam.ts on cpu. */
function adamStep(r: Rand): tf.Tensor[] {
  const [w, m, g] = [uniform(r, [3, 3, 4, 5]), uniform(r, [3, 3, 4, 5], -0.1, 0.1), uniform(r, [3, 3, 4, 5])];
  const v = tf.abs(uniform(r, [3, 3, 4, 5], 0, 0.01));
  const [stepSize, l2] = [tf.scalar(3e-3), tf.scalar(5e-4)];
  const fused = adamUpdate(
    tf,
    { w, m, v, g },
    stepSize,
    { l2, decayRate: null },
    { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  );
  if (fused) return [fused.w, fused.m, fused.v];
  const gd = tf.add(g, tf.mul(w, l2));
  const mNew = tf.add(tf.mul(m, 0.9), tf.mul(gd, 1 - 0.9));
  const vNew = tf.add(tf.mul(v, 0.999), tf.mul(tf.square(gd), 1 - 0.999));
  return [tf.sub(w, tf.mul(tf.div(mNew, tf.add(tf.sqrt(vNew), 1e-8)), stepSize)), mNew, vNew];
}

/** Convolutions over odd and even sizes, so TF's uneven 'same' padding (stride 2 on even input, even kernels) shows. */
const convShapes: {
  name: string;
  x: number[];
  k: number;
  cin: number;
  cout: number;
  stride: number;
  pad: Pad;
  dilation?: number;
}[] = [
  { name: '3x3 s1 same', x: [2, 7, 7, 3], k: 3, cin: 3, cout: 4, stride: 1, pad: 'same' },
  { name: '3x3 s2 same even input', x: [2, 8, 8, 3], k: 3, cin: 3, cout: 5, stride: 2, pad: 'same' },
  { name: '1x1 s2 same', x: [3, 8, 6, 4], k: 1, cin: 4, cout: 6, stride: 2, pad: 'same' },
  { name: '2x2 s1 same (even kernel)', x: [1, 5, 6, 2], k: 2, cin: 2, cout: 3, stride: 1, pad: 'same' },
  { name: '5x5 s2 valid', x: [2, 11, 9, 2], k: 5, cin: 2, cout: 3, stride: 2, pad: 'valid' },
  {
    name: '3x3 explicit pad',
    x: [2, 6, 6, 3],
    k: 3,
    cin: 3,
    cout: 2,
    stride: 1,
    pad: [
      [0, 0],
      [2, 1],
      [0, 1],
      [0, 0],
    ],
  },
  { name: '3x3 dilation 2', x: [1, 9, 9, 2], k: 3, cin: 2, cout: 3, stride: 1, pad: 'same', dilation: 2 },
];

const convCases: Case[] = convShapes.flatMap((c) => {
  const inputs = (r: Rand) =>
    [uniform(r, c.x) as tf.Tensor4D, uniform(r, [c.k, c.k, c.cin, c.cout]) as tf.Tensor4D] as const;
  const f = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.conv2d(x, w, c.stride, c.pad, 'NHWC', c.dilation ?? 1);
  const cases: Case[] = [{ name: `conv2d ${c.name}`, build: (r) => f(...inputs(r)) }];
  if (!c.dilation) {
    cases.push({
      name: `conv2d gradients ${c.name}`,
      build: (r) => {
        const [x, w] = inputs(r);
        const dy = uniform(r, f(x, w).shape);
        return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), dy)))([
          x,
          w,
        ]);
      },
    });
  }
  return cases;
});

const depthwise = (r: Rand) =>
  [uniform(r, [2, 8, 8, 3]) as tf.Tensor4D, uniform(r, [3, 3, 3, 2]) as tf.Tensor4D] as const;
const dwConv = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.depthwiseConv2d(x, w, 2, 'same');

const pools: {
  name: string;
  op: typeof tf.maxPool;
  size: number;
  stride: number;
  pad: 'same' | 'valid';
  x: number[];
}[] = [
  { name: 'maxPool 3x3 s2 same even', op: tf.maxPool, size: 3, stride: 2, pad: 'same', x: [2, 8, 8, 3] },
  { name: 'maxPool 2x2 s2 valid', op: tf.maxPool, size: 2, stride: 2, pad: 'valid', x: [2, 7, 6, 3] },
  { name: 'maxPool 3x3 s1 same', op: tf.maxPool, size: 3, stride: 1, pad: 'same', x: [1, 5, 5, 2] },
  { name: 'avgPool 3x3 s2 same even', op: tf.avgPool, size: 3, stride: 2, pad: 'same', x: [2, 8, 8, 3] },
  { name: 'avgPool 2x2 s2 valid', op: tf.avgPool, size: 2, stride: 2, pad: 'valid', x: [2, 7, 6, 3] },
  { name: 'avgPool 3x3 s1 same', op: tf.avgPool, size: 3, stride: 1, pad: 'same', x: [1, 5, 5, 2] },
];

const poolCases: Case[] = pools.flatMap((p) => {
  const f = (x: tf.Tensor4D) => p.op(x, p.size, p.stride, p.pad);
  return [
    { name: p.name, build: (r: Rand) => f(uniform(r, p.x) as tf.Tensor4D) },
    {
      name: `${p.name} gradient`,
      build: (r: Rand) => {
        const x = uniform(r, p.x) as tf.Tensor4D;
        const dy = uniform(r, f(x).shape);
        return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D), dy)))(x);
      },
    },
  ];
});

/** Training-mode batch norm as the models write it: batch moments, then tf.batchNorm; gradients to all three inputs. */
function trainingBatchNorm(r: Rand): tf.Tensor[] {
  const x = uniform(r, [4, 5, 5, 6], -2, 3);
  const dy = uniform(r, x.shape);
  return tf.grads((a: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
    const { mean, variance } = tf.moments(a, [0, 1, 2]);
    return tf.sum(tf.mul(tf.batchNorm(a, mean, variance, beta, gamma, 1e-3), dy));
  })([x, uniform(r, [6], 0.5, 1.5), uniform(r, [6])]);
}

/** The models' batch norm (src/engine/nn.ts): fused kernels on libtorch, moments + batchNorm on cpu; running stats too. */
function modelBatchNorm(r: Rand): tf.Tensor[] {
  const x = uniform(r, [4, 5, 5, 6], -2, 3);
  const dy = uniform(r, x.shape);
  const running = { mean: tf.variable(uniform(r, [6])), variance: tf.variable(uniform(r, [6], 0.5, 2)) };
  const layer = (gamma: tf.Tensor, beta: tf.Tensor) =>
    ({ gamma, beta, ...running, momentum: 0.9, epsilon: 1e-3 }) as BatchNorm;
  const [gamma, beta] = [uniform(r, [6], 0.5, 1.5), uniform(r, [6])];
  const y = batchNorm(tf, layer(gamma, beta), x as tf.Tensor4D, true, false);
  const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(batchNorm(tf, layer(g, b), a as tf.Tensor4D, true, true), dy)),
  )([x, gamma, beta]);
  const out = [y, ...grads, tf.clone(running.mean), tf.clone(running.variance)];
  tf.dispose([running.mean, running.variance]);
  return out;
}

export const nnCases: Case[] = [
  ...convCases,
  {
    name: 'conv2dTranspose',
    build: (r) =>
      tf.conv2dTranspose(
        uniform(r, [2, 4, 4, 5]) as tf.Tensor4D,
        uniform(r, [3, 3, 3, 5]) as tf.Tensor4D,
        [2, 8, 8, 3],
        2,
        'same',
      ),
  },
  { name: 'depthwiseConv2d', build: (r) => dwConv(...depthwise(r)) },
  {
    name: 'depthwiseConv2d gradients',
    build: (r) => {
      const [x, w] = depthwise(r);
      const dy = uniform(r, dwConv(x, w).shape);
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(dwConv(a as tf.Tensor4D, b as tf.Tensor4D), dy)))([
        x,
        w,
      ]);
    },
  },
  {
    name: 'fused conv2d + bias + relu',
    build: (r) =>
      tf.fused.conv2d({
        x: uniform(r, [2, 6, 6, 3]) as tf.Tensor4D,
        filter: uniform(r, [3, 3, 3, 4]) as tf.Tensor4D,
        strides: 1,
        pad: 'same',
        bias: uniform(r, [4]),
        activation: 'relu',
      }),
  },
  {
    name: 'fused depthwiseConv2d + bias + relu6',
    build: (r) =>
      tf.fused.depthwiseConv2d({
        x: uniform(r, [2, 6, 6, 3], 0, 4) as tf.Tensor4D,
        filter: uniform(r, [3, 3, 3, 1]) as tf.Tensor4D,
        strides: 1,
        pad: 'same',
        bias: uniform(r, [3]),
        activation: 'relu6',
      }),
  },
  ...poolCases,
  {
    name: 'batchNorm 4d',
    build: (r) =>
      tf.batchNorm(
        uniform(r, [3, 4, 4, 5]),
        uniform(r, [5]),
        uniform(r, [5], 0.5, 2),
        uniform(r, [5]),
        uniform(r, [5]),
        1e-3,
      ),
  },
  {
    name: 'batchNorm 2d without scale',
    build: (r) => tf.batchNorm(uniform(r, [6, 5]), uniform(r, [5]), uniform(r, [5], 0.5, 2), uniform(r, [5])),
  },
  { name: 'batchNorm training gradients', build: trainingBatchNorm, tol: { rtol: 1e-3, atol: 1e-4 } },
  { name: 'model batch norm in training (fused kernels)', build: modelBatchNorm, tol: { rtol: 1e-3, atol: 1e-4 } },
  {
    name: 'ReLU gradient (fused kernel)',
    build: (r) => reluGradient(tf, uniform(r, [3, 5, 5, 4]), uniform(r, [3, 5, 5, 4])),
  },
  { name: 'Nesterov momentum update with weight decay (fused kernel)', build: momentumStep },
  { name: 'Adam update with L2 decay (fused kernel)', build: adamStep },
  {
    name: 'matMul',
    build: (r) => [
      tf.matMul(uniform(r, [5, 7]), uniform(r, [7, 3])),
      tf.matMul(uniform(r, [7, 5]), uniform(r, [3, 7]), true, true),
    ],
  },
  {
    name: 'matMul batched, broadcast batch',
    build: (r) => [
      tf.matMul(uniform(r, [4, 5, 7]), uniform(r, [4, 7, 3])),
      tf.matMul(uniform(r, [4, 5, 7]), uniform(r, [1, 3, 7]), false, true),
    ],
  },
  {
    name: 'matMul gradients',
    build: (r) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D))))([
        uniform(r, [5, 7]),
        uniform(r, [7, 3]),
      ]),
  },
  {
    name: 'fused matMul + bias + leakyRelu',
    build: (r) =>
      tf.fused.matMul({
        a: uniform(r, [5, 7]) as tf.Tensor2D,
        b: uniform(r, [7, 3]) as tf.Tensor2D,
        bias: uniform(r, [3]),
        activation: 'leakyrelu',
        leakyreluAlpha: 0.1,
      }),
  },
  {
    name: 'softmax cross-entropy gradient',
    build: (r) =>
      tf.grad((logits: tf.Tensor) =>
        tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([1, 0, 3, 2], 'int32'), 5), logits),
      )(uniform(r, [4, 5], -3, 3)),
  },
];
