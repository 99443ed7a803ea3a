import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../src/backends/tfjs.js';
import { registerFastGradients } from '../../../src/backends/gradients/index.js';
import { momentumUpdate, MOMENTUM_UPDATE } from '../../../src/backends/fused/momentum-update.js';
import { RELU_GRAD } from '../../../src/backends/fused/relu-gradient.js';
import { rng, skip, uniform } from './helpers.js';

if (!skip) {
  await tf.setBackend('libtorch');
  registerFastGradients('libtorch');
}

const bits = (t: tf.Tensor) => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));

test(
  'the ReLU gradient runs as one kernel on libtorch and equals dy·step(x) bit for bit, NaN and zero included',
  { skip },
  () => {
    assert.ok(tf.getKernel(RELU_GRAD, 'libtorch'), 'the fused ReLU gradient kernel is registered');
    const r = rng(7);
    const x = tf.concat([uniform(r, [5000], -2, 2), tf.tensor1d([0, -0, NaN, Infinity, -Infinity])]);
    const dy = uniform(r, [5005], -3, 3);
    const [grad] = tf.grads((t: tf.Tensor) => tf.relu(t))([x], dy);
    assert.deepEqual(bits(grad), bits(tf.mul(dy, tf.step(x))));
  },
);

test(
  'the fused momentum update equals the separate ops bit for bit, with and without decay and Nesterov',
  { skip },
  () => {
    assert.ok(tf.getKernel(MOMENTUM_UPDATE, 'libtorch'), 'the fused momentum kernel is registered');
    const r = rng(11);
    const [w, accum, g] = [
      uniform(r, [3, 3, 16, 32]),
      uniform(r, [3, 3, 16, 32], -0.1, 0.1),
      uniform(r, [3, 3, 16, 32], -0.5, 0.5),
    ];
    const lr = tf.scalar(0.1);
    for (const [wd, nesterov] of [
      [tf.scalar(5e-4), false],
      [null, false],
      [tf.scalar(2e-4), true],
    ] as [tf.Scalar | null, boolean][]) {
      const fused = momentumUpdate(tf, w, accum, g, lr, wd, 0.9, nesterov)!;
      const gd = wd ? tf.add(g, tf.mul(w, wd)) : g;
      const next = tf.add(tf.mul(accum, 0.9), gd);
      const update = nesterov ? tf.add(gd, tf.mul(next, 0.9)) : next;
      assert.deepEqual(bits(fused.accum), bits(next), `accumulator, wd ${wd ? 'on' : 'off'}, nesterov ${nesterov}`);
      assert.deepEqual(
        bits(fused.w),
        bits(tf.sub(w, tf.mul(update, lr))),
        `weights, wd ${wd ? 'on' : 'off'}, nesterov ${nesterov}`,
      );
    }
  },
);
