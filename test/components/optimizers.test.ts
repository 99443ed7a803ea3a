import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/backends/tfjs.js';
import { momentum } from '../../src/components/optimizer/momentum.js';
import { adam } from '../../src/components/optimizer/adam.js';
import type { BuildContext } from '../../src/registry/component.js';
import type { NamedVariable } from '../../src/models/types.js';
import type { Optimizer } from '../../src/train/types.js';
import { weightDecayAt } from '../../src/train/weight-decay.js';

const ctx: BuildContext = { tf, seed: 0, configDir: '.', facts: {}, log: () => {} };

/** Two variables: a kernel (weight decay applies) and a BN offset (it does not); both see gradient 1 each step. */
function vars(): NamedVariable[] {
  return [
    { name: 'conv/W', variable: tf.variable(tf.tensor1d([1])), decay: true, trainable: true },
    { name: 'bn/beta', variable: tf.variable(tf.tensor1d([1])), decay: false, trainable: true },
  ];
}

function run(opt: Optimizer, steps: number, lr: number): [number, number] {
  const v = vars();
  for (let i = 0; i < steps; i++) opt.step(v, { 'conv/W': tf.tensor1d([1]), 'bn/beta': tf.tensor1d([1]) }, lr, i);
  return [v[0].variable.dataSync()[0], v[1].variable.dataSync()[0]];
}

test('momentum follows TF: accum = m·accum + g (+ wd·w on kernels only); w -= lr·accum', async () => {
  await tf.setBackend('cpu');
  const [w, b] = run(momentum.build({ momentum: 0.9, nesterov: false, weight_decay: 0.1 }, ctx) as Optimizer, 2, 0.5);
  // kernel: g1 = 1 + 0.1·1 = 1.1, a1 = 1.1, w1 = 0.45; g2 = 1 + 0.045 = 1.045, a2 = 0.99 + 1.045 = 2.035, w2 = 0.45 − 1.0175
  assert.ok(Math.abs(w - (0.45 - 1.0175)) < 1e-6, String(w));
  // offset: no decay: a1 = 1, w1 = 0.5; a2 = 1.9, w2 = 0.5 − 0.95
  assert.ok(Math.abs(b - (0.5 - 0.95)) < 1e-6, String(b));
});

test('Nesterov momentum steps by g + m·accum', async () => {
  await tf.setBackend('cpu');
  const [, b] = run(momentum.build({ momentum: 0.9, nesterov: true, weight_decay: 0 }, ctx) as Optimizer, 2, 0.5);
  // a1 = 1, w1 = 1 − 0.5·(1 + 0.9) = 0.05; a2 = 1.9, w2 = 0.05 − 0.5·(1 + 1.71)
  assert.ok(Math.abs(b - (0.05 - 0.5 * 2.71)) < 1e-6, String(b));
});

test('Adam with bias correction moves each weight by about lr per step on a constant gradient', async () => {
  await tf.setBackend('cpu');
  const [w, b] = run(
    adam.build({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weight_decay: 0, decoupled: false }, ctx) as Optimizer,
    3,
    0.01,
  );
  assert.ok(Math.abs(b - 0.97) < 1e-5, String(b));
  assert.ok(Math.abs(w - 0.97) < 1e-5);
});

test('optimizer slots round-trip through loadSlots, so a resumed step equals an uninterrupted one', async () => {
  await tf.setBackend('cpu');
  const a = momentum.build({ momentum: 0.9, nesterov: false, weight_decay: 0.1 }, ctx) as Optimizer;
  const v = vars();
  a.step(v, { 'conv/W': tf.tensor1d([1]), 'bn/beta': tf.tensor1d([1]) }, 0.5, 0);
  const b = momentum.build({ momentum: 0.9, nesterov: false, weight_decay: 0.1 }, ctx) as Optimizer;
  b.loadSlots(a.slots());
  const v2 = v.map((x) => ({ ...x, variable: tf.variable(x.variable.clone()) }));
  a.step(v, { 'conv/W': tf.tensor1d([1]), 'bn/beta': tf.tensor1d([1]) }, 0.5, 0);
  b.step(v2, { 'conv/W': tf.tensor1d([1]), 'bn/beta': tf.tensor1d([1]) }, 0.5, 0);
  assert.deepEqual(Array.from(v2[0].variable.dataSync()), Array.from(v[0].variable.dataSync()));
});

test("weight decay over global steps: the SVHN code's tf.train.exponential_decay(2e-4, step, 480000, 0.2, staircase) and a constant", () => {
  const svhn = { initial: 0.0002, decay_steps: 480000, decay_rate: 0.2, staircase: true };
  assert.equal(weightDecayAt(0.0002, 10 ** 7), 0.0002);
  assert.equal(weightDecayAt(svhn, 0), 0.0002);
  assert.equal(weightDecayAt(svhn, 479999), 0.0002);
  assert.ok(Math.abs(weightDecayAt(svhn, 480000) - 0.00004) < 1e-12);
  assert.ok(Math.abs(weightDecayAt(svhn, 101 * 4721) - 0.0002) < 1e-12, 'epoch 101 of 4,721 steps still at 2e-4');
  assert.ok(Math.abs(weightDecayAt(svhn, 102 * 4721) - 0.00004) < 1e-12, 'epoch 102 at 4e-5');
  assert.ok(
    Math.abs(weightDecayAt({ initial: 1, decay_steps: 10, decay_rate: 0.5 }, 15) - 0.5) < 1e-12,
    'staircase when left out',
  );
  assert.ok(
    Math.abs(
      weightDecayAt({ ...svhn, initial: 1, decay_steps: 10, decay_rate: 0.5, staircase: false }, 15) - 0.5 ** 1.5,
    ) < 1e-12,
  );
});

test('momentum reads its weight decay at the global step it is given', async () => {
  await tf.setBackend('cpu');
  const opt = momentum.build(
    { momentum: 0, nesterov: false, weight_decay: { initial: 0.5, decay_steps: 3, decay_rate: 0.1 } },
    ctx,
  ) as Optimizer;
  const v = vars();
  opt.step(v, { 'conv/W': tf.tensor1d([0]) }, 1, 2);
  assert.equal(v[0].variable.dataSync()[0], 0.5, 'step 2: wd 0.5');
  opt.step(v, { 'conv/W': tf.tensor1d([0]) }, 1, 3);
  assert.ok(Math.abs(v[0].variable.dataSync()[0] - 0.5 * (1 - 0.05)) < 1e-7, 'step 3: wd 0.05');
});
