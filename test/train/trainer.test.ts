import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadLatestCheckpoint } from '../../src/run/checkpoint.js';
import { trainConfig as run } from '../helpers/tiny-run.js';
import { tempDir } from '../helpers/tmp.js';

/** A tiny ε-ResNet on synthetic images: 4 steps per epoch on the cpu backend. */
function tinyConfig(dir: string, extra = ''): string {
  const file = join(dir, 'tiny.yaml');
  writeFileSync(
    file,
    `experiment: tiny
seed: 3
backend: cpu
dataset: { type: synthetic, num_classes: 3, train_size: 32, test_size: 12, height: 8, width: 8 }
transforms:
  train: [{ type: per-pixel-mean }, { type: pad-crop, pad: 1 }, { type: flip }]
  test: [{ type: per-pixel-mean }]
model: { type: epsilon-resnet, depth: 8, epsilon: 0.5 }
optimizer: { type: momentum, momentum: 0.9, weight_decay: 0.0002 }
schedule: { type: piecewise, values: [[0, 0.1], [1, 0.02]] }
loss: { type: cross-entropy }
train: { epochs: 3, batch_size: 8, eval_batch_size: 5 }
${extra}`,
  );
  return file;
}

function metrics(runDir: string): Record<string, number>[] {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

test('a run interrupted mid-epoch and resumed ends with exactly the metrics and weights of an uninterrupted one', async () => {
  const dir = tempDir('resume');
  const file = tinyConfig(dir);
  const straight = await run(file, join(dir, 'straight'));
  assert.equal(straight.code, 0);
  const cut = await run(file, join(dir, 'cut'), (line, stop) => {
    if (line.includes('epoch 2/3 step 2/4')) stop();
  });
  assert.equal(cut.code, 130, 'an interrupted run exits 130');
  const ckpt = loadLatestCheckpoint<{ epoch: number; stepInEpoch: number }>(join(dir, 'cut'));
  assert.deepEqual([ckpt?.meta.epoch, ckpt?.meta.stepInEpoch], [1, 2], 'the checkpoint records the step it stopped at');
  assert.equal(JSON.parse(readFileSync(join(dir, 'cut', 'result.json'), 'utf8')).status, 'interrupted');
  const resumed = await run(file, join(dir, 'cut'));
  assert.equal(resumed.code, 0);
  const a = metrics(join(dir, 'straight'));
  const b = metrics(join(dir, 'cut'));
  assert.equal(b.length, 3, 'each epoch appears once in metrics.jsonl');
  for (const key of [
    'train_loss',
    'train_error',
    'test_loss',
    'test_error',
    'lr',
    'discarded_cnt',
    'res2.0/response_abs_max',
  ]) {
    assert.deepEqual(
      b.map((m) => m[key]),
      a.map((m) => m[key]),
      key,
    );
  }
  const wa = readFileSync(join(dir, 'straight', 'model', 'weights.bin'));
  const wb = readFileSync(join(dir, 'cut', 'model', 'weights.bin'));
  assert.ok(wa.equals(wb), 'final weights are bit-identical');
});

test('the number of live tensors is the same after every epoch', async () => {
  const dir = tempDir('leak');
  const { code } = await run(tinyConfig(dir), join(dir, 'run'));
  assert.equal(code, 0);
  const live = metrics(join(dir, 'run')).map((m) => m.live_tensors);
  assert.equal(new Set(live).size, 1, `live tensors per epoch: ${live.join(', ')}`);
});

test('a loss that turns NaN or infinite stops the run with status diverged and exit code 1', async () => {
  const dir = tempDir('nan');
  const file = tinyConfig(dir);
  writeFileSync(file, readFileSync(file, 'utf8').replace('[[0, 0.1], [1, 0.02]]', '[[0, 1.0e+30]]'));
  const { code, lines } = await run(file, join(dir, 'run'));
  assert.equal(code, 1);
  assert.ok(
    lines.some((l) => /loss is (NaN|Infinity)/.test(l)),
    lines.join('\n'),
  );
  assert.equal(JSON.parse(readFileSync(join(dir, 'run', 'result.json'), 'utf8')).status, 'diverged');
});

test('training reads its step results from the device in bulk, not after every step', async () => {
  const dir = tempDir('reads');
  const file = tinyConfig(dir);
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace('train_size: 32', 'train_size: 160').replace('epochs: 3', 'epochs: 1'),
  );
  const { tf } = await import('../../src/backends/tfjs.js');
  await tf.setBackend('cpu');
  const engine = tf.engine() as unknown as { readSync: (...a: unknown[]) => unknown };
  const readSync = engine.readSync;
  let reads = 0;
  engine.readSync = (...a: unknown[]) => (reads++, readSync.apply(engine, a));
  try {
    const { code, lines } = await run(file, join(dir, 'run'));
    assert.equal(code, 0);
    const steps = metrics(join(dir, 'run'))[0].step;
    assert.equal(steps, 20);
    assert.ok(
      reads <= steps / 2 + 2,
      `${reads} synchronous reads for ${steps} steps: at most one per progress line (every tenth of the epoch)`,
    );
    assert.ok(
      lines.some((l) => /epoch 1\/1 step \d+\/20 loss \d/.test(l)),
      'progress lines still show the loss',
    );
  } finally {
    engine.readSync = readSync;
  }
});
