import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { epsilonResnet } from '../../../src/components/model/epsilon-resnet.js';
import { crossEntropy } from '../../../src/components/loss/cross-entropy.js';
import { misses } from '../../../src/train/evaluate.js';
import { loadAddon } from '../../../src/backends/libtorch/addon.js';
import { libtorchKernels } from '../../../src/backends/libtorch/kernels/index.js';
import { tf } from '../../../src/backends/tfjs.js';
import type { BuildContext } from '../../../src/registry/component.js';
import { skip } from './helpers.js';

interface StepResult {
  loss: number;
  grads: Map<string, Float32Array>;
  stats: Map<string, Float32Array>;
  misses: number[];
}

/**
 * One training step of an ε-ResNet-8 with its side head (forward with batch statistics, backward, running-statistics
 * update) and a top-1/top-5 evaluation, on 8×8 images, from the same seed on whichever backend is current.
 */
async function stepOn(backend: string): Promise<StepResult> {
  await tf.setBackend(backend);
  const ctx: BuildContext = {
    tf,
    seed: 3,
    configDir: '.',
    facts: { inputShape: [8, 8, 3], numClasses: 10 },
    log: () => {},
  };
  // A small ε keeps every gate clearly open, so float rounding cannot flip one between backends.
  const model = await epsilonResnet.build(
    Value.Default(epsilonResnet.params, { depth: 8, epsilon: 0.01 }) as never,
    ctx,
  );
  const loss = await crossEntropy.build(Value.Default(crossEntropy.params, {}) as never, ctx);
  const x = tf.randomNormal([6, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const y = tf.tensor1d([3, 1, 4, 1, 5, 9], 'int32');
  const trainable = model.variables.filter((v) => v.trainable);
  const { value, grads } = tf.variableGrads(
    () => loss.compute(model.apply(x, { training: true, updateStats: true }), y, 10).total,
    trainable.map((v) => v.variable),
  );
  const names = new Map(trainable.map((v) => [v.variable.name, v.name]));
  const result: StepResult = {
    loss: value.dataSync()[0],
    grads: new Map(Object.entries(grads).map(([k, g]) => [names.get(k)!, g.dataSync() as Float32Array])),
    stats: new Map(
      model.variables.filter((v) => !v.trainable).map((v) => [v.name, v.variable.dataSync() as Float32Array]),
    ),
    misses: Array.from(tf.tidy(() => misses(tf, model.apply(x, { training: false }).logits, y)).dataSync()),
  };
  tf.dispose([value, x, y, ...Object.values(grads)]);
  model.dispose();
  return result;
}

function assertNear(actual: Float32Array, expected: Float32Array, what: string): void {
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const worst = expected.reduce((m, v, i) => Math.max(m, Math.abs(actual[i] - v)), 0);
  assert.ok(worst <= 1e-3 * scale + 1e-6, `${what}: differs by ${worst} (largest value ${scale})`);
}

test(
  "an ε-ResNet training step gives the cpu backend's loss, gradients, running statistics and top-5 misses",
  { skip },
  async () => {
    const expected = await stepOn('cpu');
    const actual = await stepOn('libtorch');
    assert.ok(
      Math.abs(actual.loss - expected.loss) <= 1e-4 * Math.abs(expected.loss),
      `loss ${actual.loss} vs ${expected.loss}`,
    );
    assert.deepEqual([...actual.grads.keys()].sort(), [...expected.grads.keys()].sort());
    for (const [name, g] of expected.grads) assertNear(actual.grads.get(name)!, g, `gradient of ${name}`);
    for (const [name, s] of expected.stats) assertNear(actual.stats.get(name)!, s, name);
    assert.deepEqual(actual.misses, expected.misses);
  },
);

test('a training step and a top-5 evaluation run on native libtorch kernels only', { skip }, async () => {
  const profile = await tf.profile(async () => {
    await stepOn('libtorch');
  });
  const native = new Set(libtorchKernels(loadAddon().addon!).native.map((k) => k.kernelName));
  const kernels = new Set(profile.kernelNames.filter((name) => !name.endsWith('__op')));
  assert.ok(kernels.has('Conv2DBackpropFilter') && kernels.has('TopK'), [...kernels].join(' '));
  assert.deepEqual(
    [...kernels].filter((name) => !native.has(name)),
    [],
  );
});
