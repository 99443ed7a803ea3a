import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/paths.js';
import { INVERT_PLUGIN } from '../helpers/plugin-files.js';
import { tempDir } from '../helpers/tmp.js';

const BIN = join(projectRoot(), 'bin', 'epsilab.js');

test('a plugin transform that passes `epsilab validate` trains through `epsilab run` (worker thread included)', () => {
  const dir = tempDir('plugin-cli');
  writeFileSync(join(dir, 'invert.mjs'), INVERT_PLUGIN);
  const file = join(dir, 'plugin.yaml');
  writeFileSync(
    file,
    `experiment: plugin-transform
backend: cpu
plugins: [invert.mjs]
dataset: { type: synthetic, num_classes: 2, train_size: 16, test_size: 4, height: 4, width: 4 }
transforms: { train: [{ type: invert }, { type: flip }], test: [{ type: invert, max: 255 }] }
model: { type: preact-resnet, depth: 8 }
optimizer: { type: momentum }
schedule: { type: step, initial: 0.05 }
loss: { type: cross-entropy }
train: { epochs: 1, batch_size: 8, eval_batch_size: 4 }
output: { root: ${JSON.stringify(join(dir, 'results'))} }
`,
  );
  const validate = spawnSync(process.execPath, [BIN, 'validate', file], { encoding: 'utf8' });
  assert.equal(validate.status, 0, validate.stdout + validate.stderr);
  const run = spawnSync(process.execPath, [BIN, 'run', file, '--run-dir', join(dir, 'run')], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.doesNotMatch(run.stdout + run.stderr, /unknown transform|internal error|main thread because/);
  assert.equal(JSON.parse(readFileSync(join(dir, 'run', 'result.json'), 'utf8')).status, 'done');
});
