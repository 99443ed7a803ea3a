import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyRun, trainConfig } from '../helpers/tiny-run.js';

/** ε-ResNet-8 on raw 0–255 pixels (no normalisation), 2 steps of lr 0.2: the moving statistics are still mostly their initial 0 and 1. */
const rawPixels = (extra: string) => `experiment: eval-check
seed: 5
backend: cpu
dataset: { type: synthetic, num_classes: 3, train_size: 24, test_size: 30, height: 8, width: 8 }
transforms: { train: [], test: [] }
loss: { type: cross-entropy }
model: { type: epsilon-resnet, depth: 8, epsilon: 0.5 }
optimizer: { type: momentum, momentum: 0.9, weight_decay: 0.0002 }
schedule: { type: piecewise, values: [[0, 0.2]] }
train: { epochs: 1, batch_size: 12, eval_batch_size: 10${extra} }
`;

test('when inference is far worse than batch statistics on the same test images, the run log and result.json say so and name the likely cause', async () => {
  const run = tinyRun('eval-check', rawPixels(''));
  const { code, lines } = await trainConfig(run.file, run.runDir);
  assert.equal(code, 0);
  const result = JSON.parse(readFileSync(join(run.runDir, 'result.json'), 'utf8'));
  const check = result.evaluation_check;
  assert.equal(check.inference_error, result.metrics.test_error);
  assert.equal(check.batch_statistics_error, result.metrics.test_error_batch_statistics);
  assert.ok(check.inference_error - check.batch_statistics_error > 0.05, JSON.stringify(check));
  assert.match(check.warning, /^evaluation is not the trained network: .* Likely cause: .*moving statistics/);
  assert.ok(
    lines.some((l) => l === `warning: ${check.warning}`),
    'the same warning is in the run log',
  );
});

test('train.bn_recalibration recomputes the moving statistics before the final evaluation, which then agrees with batch statistics', async () => {
  const run = tinyRun('eval-recal', rawPixels(', bn_recalibration: 2'));
  const { code, lines } = await trainConfig(run.file, run.runDir);
  assert.equal(code, 0);
  const result = JSON.parse(readFileSync(join(run.runDir, 'result.json'), 'utf8'));
  assert.equal(result.bn_recalibration.batches, 2);
  assert.equal(result.bn_recalibration.images, 24);
  assert.deepEqual(Object.keys(result.bn_recalibration.gates), ['res1.0', 'res2.0', 'res3.0']);
  assert.equal(result.evaluation_check.warning, undefined, JSON.stringify(result.evaluation_check));
  assert.ok(
    lines.some((l) => /batch-norm statistics recomputed over 2 training batches with the final gates held/.test(l)),
  );
});
