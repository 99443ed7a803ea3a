import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as tfc from '@tensorflow/tfjs-core';
import type { Model } from '../../src/models/types.js';
import { epsilonResnet } from '../../src/components/model/epsilon-resnet.js';
import { strictIdentity } from '../../src/models/gate.js';
import { cpuContext, randomImages, scale, tf } from '../helpers/tiny-model.js';

test('the gate closes only when every |F| of the whole batch is within ε', async () => {
  await cpuContext([1, 1, 1], 1);
  const F = tf.tensor4d([0.1, -0.5, 0.3, 0.2, -0.1, 0.4], [2, 1, 3, 1]);
  const read = (eps: number) => {
    const g = strictIdentity(tf, F, tf.scalar(eps), 1e6);
    return [g.gate, g.absMax, g.absMean].map((t) => t.dataSync()[0]);
  };
  assert.equal(read(0.5)[0], 0, 'max |F| = ε still counts as identity');
  assert.equal(read(0.6)[0], 0);
  assert.equal(read(0.49)[0], 1, 'one element of one image above ε keeps the block');
  assert.equal(read(0)[0], 1);
  const [, absMax, absMean] = read(1);
  assert.ok(Math.abs(absMax - 0.5) < 1e-7);
  assert.ok(Math.abs(absMean - 1.6 / 6) < 1e-7);
});

function crossEntropy(logits: tfc.Tensor2D, labels: tfc.Tensor1D, classes: number): tfc.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, classes), tf.logSoftmax(logits)), 1))) as tfc.Scalar;
}

/** Gradients of main + weighted side cross-entropy by variable name, and the gate of each block. */
function step(
  model: Model,
  x: tfc.Tensor4D,
  y: tfc.Tensor1D,
): { grads: Map<string, Float32Array>; gates: Map<string, number> } {
  const trainable = model.variables.filter((v) => v.trainable);
  const gates = new Map<string, number>();
  const { grads, value } = tf.variableGrads(
    () => {
      const out = model.apply(x, { training: true, updateStats: false });
      for (const g of out.gates) gates.set(g.block, g.gate.dataSync()[0]);
      let loss = crossEntropy(out.logits, y, model.numClasses);
      for (const a of out.auxLogits) loss = tf.add(loss, tf.mul(crossEntropy(a.logits, y, model.numClasses), a.weight));
      return loss;
    },
    trainable.map((v) => v.variable),
  );
  value.dispose();
  const byName = new Map(trainable.map((v) => [v.variable.name, v.name]));
  const named = new Map(Object.entries(grads).map(([k, g]) => [byName.get(k)!, g.dataSync() as Float32Array]));
  tf.dispose(Object.values(grads));
  return { grads: named, gates };
}

const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

test('a gated-off block passes only its shortcut and its weights get exactly zero gradient; ε is a settable variable', async () => {
  const model = await epsilonResnet.build(
    {
      depth: 14,
      epsilon: 1,
      gate_sharpness: 1e6,
      test_gate: 'recompute' as const,
      side_output: { weight: 0.1 },
      structure: null,
      discard_first_block: [0, 0, 0],
    },
    await cpuContext([8, 8, 3], 4),
  );
  for (const v of model.variables)
    if (v.name.endsWith('conv2/W')) scale(model, v.name, v.name.startsWith('res2.0/') ? 1e-4 : 100);
  const x = randomImages(4, [8, 8, 3]);
  const y = tf.tensor1d([0, 1, 2, 3], 'int32');
  const res20 = ['res2.0/bn/gamma', 'res2.0/conv1/W', 'res2.0/conv1/bn/beta', 'res2.0/conv2/W'];

  const off = step(model, x, y);
  assert.equal(off.gates.size, 6);
  for (const [block, gate] of off.gates) assert.equal(gate, block === 'res2.0' ? 0 : 1, block);
  for (const name of res20) {
    assert.ok(off.grads.has(name), `${name} still gets a (zero) gradient, so weight decay keeps acting on it`);
    assert.equal(maxAbs(off.grads.get(name)!), 0, name);
  }
  assert.ok(maxAbs(off.grads.get('res2.1/conv2/W')!) > 0);
  assert.ok(maxAbs(off.grads.get('side_output/res2.1/linear/W')!) > 0);

  for (const g of model.apply(x, { training: false }).gates) {
    assert.equal(
      g.gate.dataSync()[0],
      g.absMax.dataSync()[0] > 1 ? 1 : 0,
      `${g.block}: the gate is recomputed on evaluation batches too`,
    );
  }

  model.epsilon!.assign(tf.scalar(0));
  const on = step(model, x, y);
  assert.equal(on.gates.get('res2.0'), 1);
  for (const name of res20) assert.ok(maxAbs(on.grads.get(name)!) > 0, name);
  model.dispose();
});
