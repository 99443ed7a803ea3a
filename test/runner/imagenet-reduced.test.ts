import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { projectRoot } from '../../src/util/paths.js';
import { tempDir } from '../helpers/tmp.js';

const BIN = join(projectRoot(), 'bin', 'epsilab.js');

/** A tiny ImageNet-style folder: 2 classes, 16 training and 4 validation 20×20 PNGs. */
function imageFolder(root: string): void {
  let n = 0;
  for (const [split, count] of [
    ['train', 8],
    ['val', 2],
  ] as const) {
    for (const cls of ['n01', 'n02']) {
      mkdirSync(join(root, split, cls), { recursive: true });
      for (let i = 0; i < count; i++) {
        const png = new pngjs.PNG({ width: 20, height: 20 });
        for (let p = 0; p < png.data.length; p++)
          png.data[p] = p % 4 === 3 ? 255 : (p * 7 + n * 31 + (cls === 'n02' ? 90 : 0)) % 256;
        writeFileSync(join(root, split, cls, `img${n++}.png`), pngjs.PNG.sync.write(png));
      }
    }
  }
}

test('a reduced ImageNet-style ε-ResNet (bottleneck blocks, 2 towers, BGR input, every block forced off) trains, compresses and evaluates through the binary', () => {
  const dir = tempDir('imagenet-reduced');
  imageFolder(join(dir, 'imgs'));
  const file = join(dir, 'tiny-imagenet.yaml');
  writeFileSync(
    file,
    `experiment: tiny-imagenet
backend: cpu
dataset: { type: image-folder, path: imgs, channel_order: bgr }
transforms:
  train:
    - { type: center-crop, size: 16 }
    - { type: color-jitter, lighting_eigval_scale: 1, channel_order: bgr }
    - { type: channel-normalize }
  test:
    - { type: center-crop, size: 16 }
    - { type: channel-normalize }
# ε far above any response: every block is gated off on every batch of every tower; 12 steps take the averaged
# is_discarded past 0.999995.
model: { type: preact-resnet-imagenet, depth: 50, units: [1, 1, 1, 1], base_width: 4, epsilon: 1.0e+6, side_output: null }
optimizer: { type: momentum, momentum: 0.9, nesterov: true, weight_decay: 0.0001 }
schedule: { type: piecewise, values: [[0, 0.05]] }
loss: { type: cross-entropy }
train: { epochs: 3, batch_size: 4, towers: 2, eval_batch_size: 2, eval_every: 3 }
`,
  );
  const runDir = join(dir, 'run');
  const run = spawnSync(process.execPath, [BIN, 'run', file, '--run-dir', runDir], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr + run.stdout);
  const compress = spawnSync(
    process.execPath,
    [BIN, 'compress', runDir, '--weights', 'off', '--timing-batch', '2', '--timing-repeats', '1'],
    { encoding: 'utf8' },
  );
  assert.equal(compress.status, 0, compress.stderr + compress.stdout);
  const record = JSON.parse(readFileSync(join(runDir, 'compressed', 'compression.json'), 'utf8'));
  assert.deepEqual(record.discarded, ['group0/block0', 'group1/block0', 'group2/block0', 'group3/block0']);
  assert.deepEqual(record.structure, [0, 0, 0, 0]);
  assert.deepEqual(record.discard_first_block, [1, 1, 1, 1]);
  assert.equal(
    record.after.error,
    record.before.error,
    'gated-off blocks add nothing: the same predictions without them',
  );
  assert.equal(record.after.top5_error, record.before.top5_error);
  assert.ok(record.after.params < record.before.params);
  const evaluated = spawnSync(process.execPath, [BIN, 'eval', join(runDir, 'compressed')], { encoding: 'utf8' });
  assert.equal(evaluated.status, 0, evaluated.stderr + evaluated.stdout);
  assert.match(evaluated.stdout, new RegExp(`"test_error": ${record.after.error}`));
});
