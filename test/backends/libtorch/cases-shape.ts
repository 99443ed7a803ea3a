import { tf } from '../../../src/backends/tfjs.js';
import type { Case } from './cases-elementwise.js';
import { ints, uniform, type Rand } from './helpers.js';

const x = (r: Rand, shape = [2, 3, 4, 5]) => uniform(r, shape);

const reductions: [string, (t: tf.Tensor, axis?: number | number[], keepDims?: boolean) => tf.Tensor][] = [
  ['sum', tf.sum],
  ['mean', tf.mean],
  ['max', tf.max],
  ['min', tf.min],
  ['prod', (t, a, k) => tf.prod(tf.add(tf.mul(t, 0.5), 1), a, k)],
  ['any', (t, a, k) => tf.any(tf.greater(t, 0.8), a, k)],
  ['all', (t, a, k) => tf.all(tf.greater(t, -0.8), a, k)],
];

export const reduceCases: Case[] = [
  ...reductions.flatMap(([name, op]) => [
    { name: `${name} all axes`, build: (r: Rand) => op(x(r)) },
    { name: `${name} axes [0,1,2]`, build: (r: Rand) => op(x(r), [0, 1, 2]) },
    { name: `${name} axis -1 keepDims`, build: (r: Rand) => op(x(r), -1, true) },
    { name: `${name} axes [1,3]`, build: (r: Rand) => op(x(r), [1, 3]) },
  ]),
  { name: 'sum int32', build: (r) => tf.sum(ints(r, [4, 6], -9, 9), 1) },
  { name: 'sum bool', build: (r) => tf.sum(tf.greater(x(r), 0), [0, 2]) },
  { name: 'argMax', build: (r) => [tf.argMax(x(r), 1), tf.argMax(x(r), -1)] },
  { name: 'argMin', build: (r) => [tf.argMin(x(r), 0), tf.argMin(x(r), 3)] },
  {
    name: 'topk 5 of 10 classes',
    build: (r) => {
      const t = tf.topk(uniform(r, [16, 10]), 5);
      return [t.values, t.indices];
    },
  },
  { name: 'topk int32', build: () => tf.topk(tf.range(0, 24, 1, 'int32').reshape([4, 6]), 3).indices },
  { name: 'softmax', build: (r) => tf.softmax(uniform(r, [8, 10], -5, 5)) },
  { name: 'logSoftmax', build: (r) => tf.logSoftmax(uniform(r, [8, 10], -5, 5)) },
  {
    name: 'cumsum',
    build: (r) => [
      tf.cumsum(x(r), 1),
      tf.cumsum(x(r), 2, true),
      tf.cumsum(x(r), 3, false, true),
      tf.cumsum(x(r), 0, true, true),
    ],
  },
];

export const shapeCases: Case[] = [
  { name: 'reshape', build: (r) => tf.reshape(x(r), [6, -1]) },
  { name: 'expandDims', build: (r) => [tf.expandDims(x(r), 1), tf.expandDims(x(r), -1)] },
  { name: 'transpose', build: (r) => [tf.transpose(x(r), [0, 3, 1, 2]), tf.add(tf.transpose(x(r)), 1)] },
  { name: 'slice', build: (r) => [tf.slice(x(r), [1, 0, 2, 1], [1, 2, -1, 3]), tf.slice(x(r), 1)] },
  {
    name: 'stridedSlice',
    build: (r) => [
      tf.stridedSlice(x(r), [0, 1, 0, 0], [2, 3, 4, 5], [1, 1, 2, 2]),
      tf.stridedSlice(x(r), [1, 2, 3, 4], [0, 0, 0, 0], [-1, -1, -2, -2], 0b1000, 0b0001),
      tf.stridedSlice(x(r), [0, 1], [1, 2], [1, 1], 0, 0, 0, 0, 0b10),
      tf.stridedSlice(x(r), [0], [2], [1]),
    ],
  },
  {
    name: 'pad',
    build: (r) =>
      tf.pad(
        x(r),
        [
          [0, 1],
          [2, 0],
          [1, 1],
          [0, 0],
        ],
        0.5,
      ),
  },
  {
    name: 'mirrorPad',
    build: (r) => [
      tf.mirrorPad(
        uniform(r, [3, 4]),
        [
          [1, 2],
          [3, 1],
        ],
        'reflect',
      ),
      tf.mirrorPad(
        uniform(r, [3, 4]),
        [
          [2, 1],
          [0, 3],
        ],
        'symmetric',
      ),
    ],
  },
  {
    name: 'concat',
    build: (r) => [tf.concat([x(r), x(r)], 1), tf.concat([x(r), uniform(r, [2, 3, 4, 2]), tf.zeros([2, 3, 4, 0])], -1)],
  },
  { name: 'concat empty', build: () => tf.concat([tf.zeros([0, 3]), tf.zeros([0, 3])], 0) },
  { name: 'stack', build: (r) => tf.stack([x(r), x(r), x(r)], 2) },
  { name: 'unstack', build: (r) => tf.unstack(x(r), 1) },
  { name: 'split', build: (r) => [...tf.split(x(r), 2, 0), ...tf.split(x(r), [1, -1, 1], 3)] },
  { name: 'tile broadcast', build: (r) => tf.tile(uniform(r, [1, 1, 1, 5]), [2, 3, 4, 1]) },
  { name: 'tile repeat', build: (r) => tf.tile(uniform(r, [2, 3]), [3, 2]) },
  {
    name: 'gather',
    build: (r) => [tf.gather(x(r), ints(r, [4], 0, 3), 1), tf.gather(uniform(r, [10, 3]), ints(r, [2, 3], 0, 10))],
  },
  {
    name: 'gather batchDims (cpu fallback)',
    build: (r) => tf.gather(uniform(r, [2, 5, 3]), ints(r, [2, 4], 0, 5), 1, 1),
  },
  { name: 'oneHot', build: (r) => [tf.oneHot(ints(r, [7], -1, 11), 10), tf.oneHot(ints(r, [2, 3], 0, 4), 4, 2, -1)] },
  { name: 'reverse', build: (r) => [tf.reverse(x(r), [1, 2]), tf.reverse(x(r), -1)] },
  {
    name: 'unsortedSegmentSum (cpu fallback)',
    build: (r) => tf.unsortedSegmentSum(uniform(r, [6, 3]), ints(r, [6], 0, 3) as tf.Tensor1D, 3),
  },
];
