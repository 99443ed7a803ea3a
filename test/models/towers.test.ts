import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as tfc from '@tensorflow/tfjs-core';
import { epsilonResnet } from '../../src/components/model/epsilon-resnet.js';
import { withTowers } from '../../src/models/towers.js';
import type { Model } from '../../src/models/types.js';
import { cpuContext, maxAbsDiff, randomImages, tf, variable } from '../helpers/tiny-model.js';

const params = {
  depth: 8,
  epsilon: 0,
  gate_sharpness: 1e6,
  test_gate: 'recompute' as const,
  side_output: { weight: 0.1, after: 'res2.0' },
  structure: null,
  discard_first_block: [0, 0, 0],
};
const build = async (epsilon = 0, size = 8) =>
  epsilonResnet.build({ ...params, epsilon }, await cpuContext([size, size, 3], 4));
const labels = () => tf.tensor1d([0, 1, 2, 3, 1, 2], 'int32');

const ce = (logits: tfc.Tensor2D, y: tfc.Tensor1D) =>
  tf.losses.softmaxCrossEntropy(tf.oneHot(y, 4), logits) as tfc.Scalar;

function grads(model: Model, loss: () => tfc.Scalar): Record<string, Float32Array> {
  const trainable = model.variables.filter((v) => v.trainable);
  const { value, grads } = tf.variableGrads(
    loss,
    trainable.map((v) => v.variable),
  );
  const out = Object.fromEntries(
    trainable
      .filter((v) => grads[v.variable.name])
      .map((v) => [v.name, grads[v.variable.name].dataSync() as Float32Array]),
  );
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

test('towers = 1 is the model itself', async () => {
  const m = await build();
  assert.equal(withTowers(tf, m, 1), m);
  m.dispose();
});

test('towers = 2 equals two separate forward passes: own gates and BN statistics per tower, tower 0 alone feeds the moving averages', async () => {
  const x = randomImages(6, [8, 8, 3], 11);
  const [a, b] = [x.slice([0, 0, 0, 0], [3, -1, -1, -1]), x.slice([3, 0, 0, 0], [3, -1, -1, -1])];
  // ε between the two towers' largest |F| of block res1.0: tower 0 discards it while tower 1 keeps it.
  const probe = await build();
  const [m0, m1] = [a, b].map(
    (t) => probe.apply(t, { training: true, updateStats: false }).gates[0].absMax.dataSync()[0],
  );
  probe.dispose();
  assert.notEqual(m0, m1);
  const epsilon = (m0 + m1) / 2;

  const towered = withTowers(tf, await build(epsilon), 2);
  const separate = await build(epsilon);
  const whole = await build(epsilon);
  const out = towered.apply(x, { training: true });
  const t0 = separate.apply(a, { training: true });
  const t1 = separate.apply(b, { training: true, updateStats: false });
  assert.ok(maxAbsDiff(out.logits, tf.concat([t0.logits, t1.logits])) < 1e-6);
  assert.ok(maxAbsDiff(out.auxLogits[0].logits, tf.concat([t0.auxLogits[0].logits, t1.auxLogits[0].logits])) < 1e-6);
  assert.deepEqual(
    out.gates.map((g) => g.gate.dataSync()[0]),
    t0.gates.map((g) => g.gate.dataSync()[0]),
    'the readings are tower 0’s',
  );
  assert.notEqual(t0.gates[0].gate.dataSync()[0], t1.gates[0].gate.dataSync()[0], 'each tower gates on its own images');
  const wholeOut = whole.apply(x, { training: true });
  assert.equal(wholeOut.gates[0].gate.dataSync()[0], 1, 'one batch of 6 keeps the block tower 0 discards');
  for (const name of ['conv0/bn/mean', 'res2.0/conv1/bn/variance', 'bnlast/bn/mean']) {
    assert.ok(maxAbsDiff(variable(towered, name), variable(separate, name)) < 1e-6, `${name}: tower 0's statistics`);
    assert.ok(maxAbsDiff(variable(towered, name), variable(whole, name)) > 1e-4, `${name}: not the whole batch's`);
  }
  const evalOut = towered.apply(x, { training: false });
  assert.ok(
    maxAbsDiff(evalOut.logits, separate.apply(x, { training: false }).logits) < 1e-6,
    'evaluation runs the batch whole',
  );
  for (const m of [towered, separate, whole]) m.dispose();
});

test('towers = 2: the gradient of the batch loss is the average of the towers’ gradients', async () => {
  const x = randomImages(6, [4, 4, 3], 12);
  const towered = withTowers(tf, await build(0, 4), 2);
  const separate = await build(0, 4);
  const y = labels();
  const g = grads(towered, () => ce(towered.apply(x, { training: true, updateStats: false }).logits, y));
  const halves = [0, 3].map((from) =>
    grads(separate, () =>
      ce(
        separate.apply(x.slice([from, 0, 0, 0], [3, -1, -1, -1]), { training: true, updateStats: false }).logits,
        y.slice([from], [3]),
      ),
    ),
  );
  assert.ok(Object.keys(g).length > 10);
  for (const [name, v] of Object.entries(g)) {
    const worst = v.reduce((m, gi, i) => Math.max(m, Math.abs(gi - (halves[0][name][i] + halves[1][name][i]) / 2)), 0);
    assert.ok(worst < 1e-5, `${name}: ${worst}`);
  }
  towered.dispose();
  separate.dispose();
});

test('a batch that does not split equally is refused', async () => {
  const m = withTowers(tf, await build(), 4);
  assert.throws(() => m.apply(randomImages(6, [8, 8, 3]), { training: true }), /does not split into 4 equal towers/);
  m.dispose();
});
