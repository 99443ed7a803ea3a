import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { preactResnet } from '../../../src/components/model/preact-resnet.js';
import { crossEntropy } from '../../../src/components/loss/cross-entropy.js';
import { momentum } from '../../../src/components/optimizer/momentum.js';
import { tf } from '../../../src/backends/tfjs.js';
import type { BuildContext } from '../../../src/registry/component.js';
import { skip } from './helpers.js';

interface NativeMemory {
  numNativeTensors: number;
  numNativeBytes: number;
}

const native = () => tf.backend().memory() as unknown as NativeMemory;

test('disposing a tensor frees its libtorch memory at once', { skip }, async () => {
  await tf.setBackend('libtorch');
  const before = native();
  const t = tf.ones([256, 1024]);
  const doubled = tf.mul(t, 2);
  assert.equal(native().numNativeTensors, before.numNativeTensors + 2);
  assert.ok(native().numNativeBytes >= before.numNativeBytes + 256 * 1024 * 4);
  tf.dispose([t, doubled]);
  assert.deepEqual(native(), before);
});

test(
  'a tensor made on the cpu backend moves into libtorch when a libtorch kernel first reads it',
  { skip },
  async () => {
    await tf.setBackend('cpu');
    const made = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    await tf.setBackend('libtorch');
    const before = native().numNativeTensors;
    const summed = tf.sum(made, 1);
    assert.deepEqual(Array.from(summed.dataSync()), [6, 15]);
    assert.equal(native().numNativeTensors, before + 2);
    tf.dispose([made, summed]);
    assert.equal(native().numNativeTensors, before);
  },
);

test('tensor counts and native bytes stay flat over 50 training steps', { skip }, async () => {
  await tf.setBackend('libtorch');
  const ctx: BuildContext = {
    tf,
    seed: 1,
    configDir: '.',
    facts: { inputShape: [8, 8, 3], numClasses: 10 },
    log: () => {},
  };
  const model = await preactResnet.build(Value.Default(preactResnet.params, { depth: 8 }) as never, ctx);
  const loss = await crossEntropy.build(Value.Default(crossEntropy.params, {}) as never, ctx);
  const optimizer = await momentum.build({ momentum: 0.9, nesterov: false, weight_decay: 5e-4 }, ctx);
  const trainable = model.variables.filter((v) => v.trainable);
  const names = new Map(trainable.map((v) => [v.variable.name, v.name]));
  const x = tf.randomNormal([8, 8, 8, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
  const step = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => loss.compute(model.apply(x, { training: true, updateStats: true }), y, 10).total,
        trainable.map((v) => v.variable),
      );
      optimizer.step(trainable, Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g])), 0.1, 0);
      return value.dataSync()[0];
    });
  const losses = [step()];
  const after1 = { tensors: tf.memory().numTensors, ...native() };
  for (let i = 1; i < 50; i++) losses.push(step());
  assert.deepEqual({ tensors: tf.memory().numTensors, ...native() }, after1);
  assert.ok(losses[49] < losses[0], `loss went from ${losses[0]} to ${losses[49]}`);
  optimizer.dispose();
  model.dispose();
  tf.dispose([x, y]);
});
