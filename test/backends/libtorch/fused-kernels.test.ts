import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../src/backends/tfjs.js';
import { registerFastGradients } from '../../../src/backends/gradients/index.js';
import { adamUpdate, ADAM_UPDATE } from '../../../src/backends/fused/adam-update.js';
import { momentumUpdate, MOMENTUM_UPDATE } from '../../../src/backends/fused/momentum-update.js';
import { CompiledStep } from '../../../src/backends/libtorch/compile.js';
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

test(
  'the fused Adam update equals the separate ops bit for bit: plain, with L2 decay, with decoupled decay',
  { skip },
  () => {
    assert.ok(tf.getKernel(ADAM_UPDATE, 'libtorch'), 'the fused Adam kernel is registered');
    const r = rng(13);
    const shape = [3, 3, 8, 16];
    const [w, m, g] = [uniform(r, shape), uniform(r, shape, -0.1, 0.1), uniform(r, shape, -0.5, 0.5)];
    const v = tf.abs(uniform(r, shape, 0, 0.01));
    const [beta1, beta2, epsilon] = [0.9, 0.999, 1e-8];
    const lr = tf.scalar(0.01);
    const wd = tf.scalar(5e-4);
    const stepSize = tf.mul(lr, tf.scalar(0.31622776)) as tf.Scalar;
    for (const mode of ['plain', 'l2', 'decoupled']) {
      const decayRate = mode === 'decoupled' ? (tf.mul(lr, wd) as tf.Scalar) : null;
      const fused = adamUpdate(
        tf,
        { w, m, v, g },
        stepSize,
        { l2: mode === 'l2' ? wd : null, decayRate },
        { beta1, beta2, epsilon },
      )!;
      // src/components/optimizer/adam.ts's separate ops.
      const gd = mode === 'l2' ? tf.add(g, tf.mul(w, wd)) : g;
      const mNew = tf.add(tf.mul(m, beta1), tf.mul(gd, 1 - beta1));
      const vNew = tf.add(tf.mul(v, beta2), tf.mul(tf.square(gd), 1 - beta2));
      let wNew = tf.sub(w, tf.mul(tf.div(mNew, tf.add(tf.sqrt(vNew), epsilon)), stepSize));
      if (decayRate) wNew = tf.sub(wNew, tf.mul(w, decayRate));
      assert.deepEqual(bits(fused.m), bits(mNew), `first moment, ${mode}`);
      assert.deepEqual(bits(fused.v), bits(vNew), `second moment, ${mode}`);
      assert.deepEqual(bits(fused.w), bits(wNew), `weights, ${mode}`);
    }
  },
);

test(
  'a replayed step runs each convolution’s input and filter gradients as one op, with the separate ops’ values',
  { skip },
  () => {
    const r = rng(17);
    // 3x3 stride 1 'same'; 3x3 stride 2 'same' on an even size (TF pads one row and column more at the end); 1x1
    // stride 2 (taken over every other input); 2x2 stride 1 'same' (uneven). The first's input needs no gradient.
    const shapes = [
      [3, 3, 3, 8],
      [3, 3, 8, 8],
      [1, 1, 8, 16],
      [2, 2, 16, 4],
    ];
    const strides = [1, 2, 2, 1];
    const initial = shapes.map((shape) => uniform(r, shape, -0.5, 0.5));
    const filters = initial.map((t) => tf.variable(t));
    const sgdStep = ([x]: tf.Tensor[]) => {
      const { value, grads } = tf.variableGrads(() =>
        tf.mean(
          tf.square(
            filters.reduce((h, f, i) => tf.relu(tf.conv2d(h as tf.Tensor4D, f as tf.Tensor4D, strides[i], 'same')), x),
          ),
        ),
      );
      for (const f of filters) f.assign(tf.sub(f, tf.mul(grads[f.name], 0.1)));
      return { loss: value };
    };
    const x = uniform(r, [2, 8, 8, 3]);
    const run = (steps: (inputs: tf.Tensor[]) => Record<string, tf.Tensor>) => {
      filters.forEach((f, i) => f.assign(initial[i]));
      const losses = [0, 1, 2].map(() => bits(steps([x]).loss));
      return { losses, filters: filters.map(bits) };
    };
    const eager = run((inputs) => tf.tidy(() => sgdStep(inputs)));
    const lines: string[] = [];
    const compiled = new CompiledStep(tf, sgdStep, (line) => lines.push(line));
    const replayed = run((inputs) => compiled.run(inputs));
    assert.equal(compiled.status.path, 'replay', compiled.status.why);
    assert.match(lines.join('\n'), /captured .*\(3 convolution gradients in one op each\)/);
    assert.deepEqual(replayed, eager);
    compiled.dispose();
  },
);
