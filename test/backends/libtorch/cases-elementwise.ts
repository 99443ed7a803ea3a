import { tf } from '../../../src/backends/tfjs.js';
import { ints, uniform, type Rand, type Tolerance } from './helpers.js';

export interface Case {
  name: string;
  build: (r: Rand) => tf.Tensor | tf.Tensor[];
  tol?: Tolerance;
}

const S = [3, 4, 5];
const u = (r: Rand, lo = -2, hi = 2) => uniform(r, S, lo, hi);
/** Values with NaN and ±Infinity mixed in, for the predicates. */
const special = (r: Rand) => tf.concat([u(r).reshape([-1]), tf.tensor([NaN, Infinity, -Infinity, 0])]);

const unary: [string, (r: Rand) => tf.Tensor][] = [
  ['abs', (r) => tf.abs(u(r))],
  ['abs int32', (r) => tf.abs(ints(r, S, -9, 9))],
  ['acos', (r) => tf.acos(u(r, -0.99, 0.99))],
  ['acosh', (r) => tf.acosh(u(r, 1.01, 4))],
  ['asin', (r) => tf.asin(u(r, -0.99, 0.99))],
  ['asinh', (r) => tf.asinh(u(r))],
  ['atan', (r) => tf.atan(u(r))],
  ['atanh', (r) => tf.atanh(u(r, -0.99, 0.99))],
  ['ceil', (r) => tf.ceil(u(r))],
  ['clipByValue', (r) => tf.clipByValue(u(r), -0.5, 0.7)],
  ['cos', (r) => tf.cos(u(r))],
  ['cosh', (r) => tf.cosh(u(r))],
  ['elu', (r) => tf.elu(u(r))],
  ['erf', (r) => tf.erf(u(r))],
  ['exp', (r) => tf.exp(u(r))],
  ['expm1', (r) => tf.expm1(u(r))],
  ['floor', (r) => tf.floor(u(r))],
  ['isFinite', (r) => tf.isFinite(special(r))],
  ['isInf', (r) => tf.isInf(special(r))],
  ['isNaN', (r) => tf.isNaN(special(r))],
  ['leakyRelu', (r) => tf.leakyRelu(u(r), 0.3)],
  ['log', (r) => tf.log(u(r, 0.01, 5))],
  ['log1p', (r) => tf.log1p(u(r, -0.9, 5))],
  ['logicalNot', (r) => tf.logicalNot(tf.greater(u(r), 0))],
  ['neg', (r) => tf.neg(u(r))],
  ['reciprocal', (r) => tf.reciprocal(u(r, 0.1, 3))],
  ['relu', (r) => tf.relu(u(r))],
  ['relu6', (r) => tf.relu6(u(r, -3, 9))],
  ['round', (r) => tf.round(u(r, -5, 5))],
  ['rsqrt', (r) => tf.rsqrt(u(r, 0.01, 5))],
  ['selu', (r) => tf.selu(u(r))],
  ['sigmoid', (r) => tf.sigmoid(u(r, -6, 6))],
  ['sign', (r) => tf.sign(u(r))],
  ['sin', (r) => tf.sin(u(r))],
  ['sinh', (r) => tf.sinh(u(r))],
  ['softplus', (r) => tf.softplus(u(r, -6, 6))],
  ['sqrt', (r) => tf.sqrt(u(r, 0, 5))],
  ['square', (r) => tf.square(u(r))],
  ['step', (r) => tf.step(tf.concat([u(r).reshape([-1]), tf.tensor([NaN, 0])]), 0.25)],
  ['tan', (r) => tf.tan(u(r, -1.2, 1.2))],
  ['tanh', (r) => tf.tanh(u(r))],
];

/** Binary ops on broadcasting shapes: [3,4,5] with [4,5], and [3,1,5] with [4,1]. */
const binary: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, number, number][] = [
  ['add', tf.add, -2, 2],
  ['sub', tf.sub, -2, 2],
  ['mul', tf.mul, -2, 2],
  ['div', tf.div, 0.2, 3],
  ['floorDiv', tf.floorDiv, 0.2, 3],
  ['maximum', tf.maximum, -2, 2],
  ['minimum', tf.minimum, -2, 2],
  ['pow', tf.pow, 0.1, 2],
  ['squaredDifference', tf.squaredDifference, -2, 2],
  ['mod', tf.mod, 0.3, 3],
  ['atan2', tf.atan2, -2, 2],
  ['greater', tf.greater, -1, 1],
  ['greaterEqual', tf.greaterEqual, -1, 1],
  ['less', tf.less, -1, 1],
  ['lessEqual', tf.lessEqual, -1, 1],
  ['equal', (a, b) => tf.equal(tf.round(a), tf.round(b)), -2, 2],
  ['notEqual', (a, b) => tf.notEqual(tf.round(a), tf.round(b)), -2, 2],
  ['logicalAnd', (a, b) => tf.logicalAnd(tf.greater(a, 0), tf.greater(b, 0)), -1, 1],
  ['logicalOr', (a, b) => tf.logicalOr(tf.greater(a, 0), tf.greater(b, 0)), -1, 1],
  ['prelu', (a, b) => tf.prelu(a, b), -1, 1],
];

export const elementwiseCases: Case[] = [
  ...unary.map(([name, build]) => ({ name, build })),
  ...binary.flatMap(([name, op, lo, hi]) => [
    { name: `${name} [3,4,5]·[4,5]`, build: (r: Rand) => op(uniform(r, S, lo, hi), uniform(r, [4, 5], lo, hi)) },
    {
      name: `${name} [3,1,5]·[4,1]`,
      build: (r: Rand) => op(uniform(r, [3, 1, 5], lo, hi), uniform(r, [4, 1], lo, hi)),
    },
  ]),
  { name: 'add int32', build: (r) => tf.add(ints(r, S, -50, 50), ints(r, [5], -50, 50)) },
  { name: 'floorDiv int32', build: (r) => tf.floorDiv(ints(r, S, -50, 50), ints(r, [5], 1, 7)) },
  { name: 'mod int32', build: (r) => tf.mod(ints(r, S, -50, 50), ints(r, [5], 1, 7)) },
  { name: 'eluGrad', build: (r) => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.elu(x), uniform(r, S))))(u(r)) },
  { name: 'cast float32->int32', build: (r) => tf.cast(u(r, -9, 9), 'int32') },
  { name: 'cast int32->float32', build: (r) => tf.cast(ints(r, S, -9, 9), 'float32') },
  { name: 'cast float32->bool', build: (r) => tf.cast(tf.round(u(r)), 'bool') },
  { name: 'cast bool->float32', build: (r) => tf.cast(tf.greater(u(r), 0), 'float32') },
  { name: 'where', build: (r) => tf.where(tf.greater(u(r), 0), u(r), u(r)) },
  { name: 'where broadcast', build: (r) => tf.where(tf.greater(uniform(r, [5]), 0), u(r), uniform(r, [4, 1])) },
  { name: 'addN', build: (r) => tf.addN([u(r), u(r), u(r)]) },
  { name: 'clone', build: (r) => tf.clone(u(r)) },
  { name: 'fill', build: () => tf.fill([2, 3], 1.5) },
  { name: 'fill int32', build: () => tf.fill([4], 7, 'int32') },
  { name: 'zerosLike', build: (r) => tf.add(tf.zerosLike(u(r)), 1) },
  { name: 'onesLike int32', build: (r) => tf.onesLike(ints(r, S, 0, 3)) },
  {
    name: 'range',
    build: () => [tf.range(0, 10, 3), tf.range(5, -1, -1.5), tf.range(2, 9, 2, 'int32'), tf.range(3, 3)],
  },
];
