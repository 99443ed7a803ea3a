import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostBatch } from '../../src/data/batch.js';
import { epsilonResnet } from '../../src/components/model/epsilon-resnet.js';
import { recalibrateBatchNorm } from '../../src/train/bn-recalibration.js';
import { cpuContext, maxAbsDiff, randomImages, tf, variable } from '../helpers/tiny-model.js';

async function tinyEpsilonResnet() {
  return epsilonResnet.build(
    {
      depth: 8,
      epsilon: 0.5,
      gate_sharpness: 1e6,
      test_gate: 'recompute' as const,
      side_output: null,
      structure: null,
      discard_first_block: [0, 0, 0],
    },
    await cpuContext([8, 8, 3], 4),
  );
}

async function* batchesOf(images: Float32Array[], shape: [number, number, number, number]): AsyncIterable<HostBatch> {
  for (const [step, x] of images.entries()) yield { x, y: new Int32Array(shape[0]), shape, step };
}

test('recalibrated moving statistics are the average over the batches, taken with the held gates: inference then matches training mode', async () => {
  const model = await tinyEpsilonResnet();
  const shape: [number, number, number, number] = [6, 8, 8, 3];
  const x = randomImages(6, [8, 8, 3]);
  const held = { 'res1.0': 1, 'res2.0': 0, 'res3.0': 1 };
  // Two copies of one batch: their average is that batch's statistics, whatever the stale values were before.
  const images = [
    x.dataSync() as Float32Array,
    x.dataSync() as Float32Array,
    randomImages(6, [8, 8, 3], 9).dataSync() as Float32Array,
  ];
  const record = await recalibrateBatchNorm(tf, model, batchesOf(images, shape), 2, held);
  assert.deepEqual(
    { batches: record.batches, images: record.images },
    { batches: 2, images: 12 },
    'stops after the batches asked for',
  );
  const inference = model.apply(x, { training: false, fixedGates: held }).logits;
  const batchStats = model.apply(x, { training: true, updateStats: false, fixedGates: held }).logits;
  assert.ok(maxAbsDiff(inference, batchStats) < 1e-4, 'the evaluated network is the trained one on that batch');
  const otherGates = model.apply(x, {
    training: true,
    updateStats: false,
    fixedGates: { ...held, 'res2.0': 1 },
  }).logits;
  assert.ok(maxAbsDiff(inference, otherGates) > 1e-3, 'the held gate of res2.0 decides the statistics downstream');
  model.dispose();
});

test('the k-th batch weighs 1/k: after batches a and b the moving mean is their mean, not the layer momentum mix', async () => {
  const model = await tinyEpsilonResnet();
  const shape: [number, number, number, number] = [4, 8, 8, 3];
  const a = randomImages(4, [8, 8, 3], 3);
  const b = tf.mul(randomImages(4, [8, 8, 3], 4), 3) as typeof a;
  // conv0's batch norm sees conv0's output, whatever the gates: its batch mean is computed here directly.
  const conv0Mean = (x: typeof a) =>
    tf.mean(tf.conv2d(x, variable(model, 'conv0/W') as Parameters<typeof tf.conv2d>[1], 1, 'same'), [0, 1, 2]);
  const expected = tf.div(tf.add(conv0Mean(a), conv0Mean(b)), 2);
  await recalibrateBatchNorm(
    tf,
    model,
    batchesOf([a.dataSync() as Float32Array, b.dataSync() as Float32Array], shape),
    5,
    {},
  );
  assert.ok(maxAbsDiff(variable(model, 'conv0/bn/mean'), expected) < 1e-4);
  model.dispose();
});
