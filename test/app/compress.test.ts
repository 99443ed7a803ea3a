import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadExperiment } from '../../src/config/load.js';
import { compressRun } from '../../src/app/compress.js';
import { TINY_COMMON, tinyRun, trainConfig } from '../helpers/tiny-run.js';
import type { OnnxTiming } from '../../src/train/inference-timing.js';

/** A tiny run on the cpu backend: per-pixel mean, cross-entropy, and `body` for the rest (seed, data, model, ...). */
async function tinyExperiment(name: string, body: string) {
  const run = tinyRun(name, `experiment: ${name}\n${TINY_COMMON}${body}`);
  return { ...run, ...(await loadExperiment(run.file)) };
}

/** ε-ResNet-14 on 48 synthetic images, 2 epochs of 8 steps; `model` completes its model section. */
const depth14 = (model: string, extra = '') => `seed: 2
dataset: { type: synthetic, num_classes: 3, train_size: 48, test_size: 20, height: 8, width: 8 }
model: { type: epsilon-resnet, depth: 14, ${model} }
${extra}optimizer: { type: momentum, momentum: 0.9, weight_decay: 0.0002 }
schedule: { type: piecewise, values: [[0, 0.05]] }
train: { epochs: 2, batch_size: 6, eval_batch_size: 7 }
`;

async function train(e: Awaited<ReturnType<typeof tinyExperiment>>): Promise<void> {
  assert.equal((await trainConfig(e.file, e.runDir)).code, 0);
}

test('compressing a run whose blocks were forced off removes them and leaves the test error unchanged', async () => {
  // ε far above any response gates every block off on every batch, so all 6 blocks are discarded.
  const run = await tinyExperiment('forced', depth14('epsilon: 1.0e+6'));
  await train(run);
  const runDir = run.runDir;
  const logs: string[] = [];
  const record = (await compressRun(runDir, {
    weightCheck: 'report',
    weightTolerance: 1e-3,
    timingBatch: 16,
    timingRepeats: 3,
    log: (l) => logs.push(l),
  })) as {
    discarded: string[];
    structure: number[];
    discard_first_block: number[];
    before: { error: number; params: number; flops: number; onnxruntime: OnnxTiming };
    after: { error: number; params: number; flops: number; onnxruntime: OnnxTiming };
    weight_check: { disagreements: { block: string }[] };
  };
  for (const t of [record.before.onnxruntime, record.after.onnxruntime]) {
    assert.equal(t.batch, 128);
    assert.ok(t.latency_seconds > 0 && t.images_per_sec > 0, 'both networks are timed in onnxruntime');
  }
  assert.deepEqual(record.discarded, ['res1.0', 'res1.1', 'res2.0', 'res2.1', 'res3.0', 'res3.1']);
  assert.deepEqual(record.structure, [0, 0, 0]);
  assert.deepEqual(record.discard_first_block, [1, 1, 1]);
  assert.equal(
    record.after.error,
    record.before.error,
    'a gated-off block adds exactly nothing, so removing it changes no prediction',
  );
  assert.ok(record.after.params < record.before.params);
  assert.ok(record.after.flops < record.before.flops);
  assert.equal(
    record.weight_check.disagreements.length,
    6,
    'two epochs of weight decay cannot collapse the weights: every block is reported',
  );
  const result = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8'));
  assert.deepEqual(result.compression.discarded, record.discarded);
  assert.match(result.compression.after.onnxruntime.runtime, /^onnxruntime-node /);
  const cfg = JSON.parse(readFileSync(join(runDir, 'compressed', 'compression.json'), 'utf8'));
  assert.deepEqual(cfg.structure, [0, 0, 0]);
});

test('a gated-off block gets only weight decay: its kernels shrink by exactly the decay of each global step', async () => {
  // Momentum 0 so each step multiplies a gated-off kernel by exactly (1 − lr·wd); wd is 0.5 for global steps 0-1, then
  // 0.5·0.4 = 0.2 (a staircase schedule as the SVHN code's), so the global step must reach the optimizer.
  const run = await tinyExperiment(
    'collapse',
    `seed: 5
dataset: { type: synthetic, num_classes: 3, train_size: 24, test_size: 6, height: 8, width: 8 }
model: { type: epsilon-resnet, depth: 8, epsilon: 1.0e+6, side_output: null }
optimizer: { type: momentum, momentum: 0, weight_decay: { initial: 0.5, decay_steps: 2, decay_rate: 0.4 } }
schedule: { type: piecewise, values: [[0, 0.1]] }
train: { epochs: 1, batch_size: 6, eval_batch_size: 6, checkpoint_every: 1 }
`,
  );
  const { tf } = await import('../../src/backends/tfjs.js');
  await tf.setBackend('cpu');
  const { buildExperiment } = await import('../../src/train/build.js');
  const initial = await buildExperiment(run.config, { tf, configDir: run.dir, log: () => {}, registry: run.registry });
  const before = new Map(initial.model.variables.map((v) => [v.name, v.variable.dataSync().slice()]));
  await train(run);
  const { readExportedModel } = await import('../../src/run/model-files.js');
  const after = readExportedModel(join(run.runDir, 'model')).values;
  const shrink = (1 - 0.1 * 0.5) ** 2 * (1 - 0.1 * 0.2) ** 2;
  for (const name of ['res1.0/conv1/W', 'res2.0/conv2/W', 'res3.0/conv1/W']) {
    const w0 = before.get(name)!;
    const w1 = after.get(name)!.data;
    for (let i = 0; i < w0.length; i += 97) assert.ok(Math.abs(w1[i] - w0[i] * shrink) < 1e-6, `${name}[${i}]`);
  }
  const fc0 = before.get('linear/W')!;
  const fc1 = after.get('linear/W')!.data;
  assert.ok(
    fc0.some((v, i) => Math.abs(fc1[i] - v * shrink) > 1e-4),
    'the classifier still learns from the loss',
  );
});

test('with test_gate last-train, blocks gated off on the last batch but not yet discarded on average are named as kept', async () => {
  // ε = 0 for the first epoch keeps every block open; ε = 10⁶ then closes them all for only 8 steps, short of the average's 1.
  const run = await tinyExperiment(
    'late',
    depth14(
      'epsilon: 0, test_gate: last-train',
      'callbacks: [{ type: epsilon-schedule, values: [[0, 0], [1, 1.0e+6]] }]\n',
    ),
  );
  await train(run);
  const runDir = run.runDir;
  const logs: string[] = [];
  const record = (await compressRun(runDir, {
    weightCheck: 'off',
    weightTolerance: 1e-3,
    timingBatch: 16,
    timingRepeats: 1,
    log: (l) => logs.push(l),
  })) as {
    discarded: string[];
    last_gate_off_but_kept: string[];
  };
  const blocks = ['res1.0', 'res1.1', 'res2.0', 'res2.1', 'res3.0', 'res3.1'];
  assert.deepEqual(record.discarded, []);
  assert.deepEqual(record.last_gate_off_but_kept, blocks);
  for (const b of blocks)
    assert.ok(
      logs.some((l) => l.startsWith(`warning: ${b}: gated off on the last training batch but kept`)),
      b,
    );
});
