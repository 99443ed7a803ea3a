import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compressRun } from '../../src/app/compress.js';
import { evaluateModelFolder } from '../../src/app/evaluate.js';
import { TINY_COMMON, tinyRun, trainConfig } from '../helpers/tiny-run.js';

test('eval and compress rebuild a trained ε-ResNet with the ε its last epoch used (an ε schedule), not the config initial ε', async () => {
  // ε 0 in the model section keeps every gate open; the schedule closes every gate in the second (last) epoch.
  const run = tinyRun(
    'final-eps',
    `experiment: final-eps
seed: 4
${TINY_COMMON}dataset: { type: synthetic, num_classes: 3, train_size: 16, test_size: 12, height: 8, width: 8 }
model: { type: epsilon-resnet, depth: 8, epsilon: 0 }
callbacks: [{ type: epsilon-schedule, values: [[0, 0.0], [1, 1.0e+6]] }]
optimizer: { type: momentum, momentum: 0.9, weight_decay: 0.0002 }
schedule: { type: piecewise, values: [[0, 0.1]] }
train: { epochs: 2, batch_size: 8, eval_batch_size: 6 }
`,
  );
  assert.equal((await trainConfig(run.file, run.runDir)).code, 0);
  const trained = JSON.parse(readFileSync(join(run.runDir, 'result.json'), 'utf8')).metrics;
  const evaluated = (await evaluateModelFolder(run.runDir)) as { test_loss: number; test_error: number };
  assert.ok(
    Math.abs(evaluated.test_loss - trained.test_loss) < 1e-5,
    `eval: ${evaluated.test_loss} vs the run's ${trained.test_loss}`,
  );
  const record = (await compressRun(run.runDir, {
    weightCheck: 'off',
    weightTolerance: 1e-3,
    timingBatch: 4,
    timingRepeats: 1,
    log: () => {},
  })) as { before: { error: number } };
  assert.equal(record.before.error, trained.test_error);
});
