import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compressRun } from '../../src/app/compress.js';
import { evaluateModelFolder } from '../../src/app/evaluate.js';
import { exportOnnx } from '../../src/app/export.js';
import { tf } from '../../src/backends/tfjs.js';
import { loadExperiment } from '../../src/config/load.js';
import { decodeTensor } from '../../src/models/onnx/graph.js';
import { openSession, runLogits } from '../../src/models/onnx/runtime.js';
import { buildDataset } from '../../src/train/build.js';
import { TINY_COMMON, tinyRun, trainConfig } from '../helpers/tiny-run.js';

test('eval, compress and export rebuild a trained ε-ResNet with the ε its last epoch used (an ε schedule), not the config initial ε', async () => {
  // ε 0 in the model section keeps every gate open; the schedule closes every gate in the second (last) epoch.
  const run = tinyRun(
    'final-eps',
    `experiment: final-eps
seed: 4
${TINY_COMMON}dataset: { type: synthetic, num_classes: 3, train_size: 16, test_size: 12, height: 8, width: 8 }
model: { type: epsilon-resnet, depth: 8, epsilon: 0, side_output: null }
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

  // Export (test_gate recompute): onnxruntime's logits on all 12 test images give the run's own test loss (no side
  // output, so the loss is the logits' cross-entropy alone).
  const exported = await exportOnnx(run.runDir, { batch: 12, tolerance: 1e-4 }, () => {});
  const input = decodeTensor(readFileSync(join(exported.test_data, 'input_0.pb')));
  const session = await openSession(readFileSync(exported.file));
  const logits = await runLogits(session, input.data, input.dims);
  await session.release();
  const { config, registry } = await loadExperiment(run.file);
  const labels = (await buildDataset(config, { tf, configDir: run.dir, log: () => {}, registry })).test.labels;
  assert.equal(labels.length, 12);
  let lossSum = 0;
  for (let i = 0; i < 12; i++) {
    const row = Array.from(logits.subarray(3 * i, 3 * i + 3));
    const top = Math.max(...row);
    lossSum += Math.log(row.reduce((a, v) => a + Math.exp(v - top), 0)) + top - row[labels[i]];
  }
  assert.ok(
    Math.abs(lossSum / 12 - trained.test_loss) < 1e-4,
    `export: cross-entropy of the ONNX logits ${lossSum / 12} vs the run's test loss ${trained.test_loss}`,
  );
});
