import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/paths.js';
import { tempDir } from '../helpers/tmp.js';

const BIN = join(projectRoot(), 'bin', 'epsilab.js');

function config(dir: string): string {
  const file = join(dir, 'long.yaml');
  writeFileSync(
    file,
    `experiment: long
backend: cpu
dataset: { type: synthetic, num_classes: 3, train_size: 64, test_size: 8, height: 8, width: 8 }
model: { type: preact-resnet, depth: 8 }
optimizer: { type: momentum }
schedule: { type: step, initial: 0.05 }
loss: { type: cross-entropy }
train: { epochs: 3, batch_size: 4, eval_batch_size: 8 }
output: { root: ${JSON.stringify(join(dir, 'results'))} }
`,
  );
  return file;
}

test('SIGTERM during `epsilab run` writes a checkpoint and exits 130; running the config again finishes the run', async () => {
  const dir = tempDir('sigterm');
  const file = config(dir);
  const child = spawn(process.execPath, [BIN, 'run', file, '--run-dir', join(dir, 'run')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let signalled = false;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (!signalled && /epoch 1\/3 step \d+\/16/.test(out)) {
      signalled = true;
      child.kill('SIGTERM');
    }
  });
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 130, out);
  assert.doesNotMatch(out, /\n\s+at /, 'no stack trace');
  assert.ok(existsSync(join(dir, 'run', 'checkpoints', 'latest.json')), 'a checkpoint was written');
  assert.equal(JSON.parse(readFileSync(join(dir, 'run', 'result.json'), 'utf8')).status, 'interrupted');
  const again = spawnSync(process.execPath, [BIN, 'run', file, '--run-dir', join(dir, 'run')], { encoding: 'utf8' });
  assert.equal(again.status, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /resuming from .*step-/);
  assert.equal(JSON.parse(readFileSync(join(dir, 'run', 'result.json'), 'utf8')).status, 'done');
  const third = spawnSync(process.execPath, [BIN, 'run', file, '--run-dir', join(dir, 'run')], { encoding: 'utf8' });
  assert.equal(third.status, 0);
  assert.match(third.stdout, /already done/);
});

test('compress on a run without ε gates is a usage error: exit 2, one line, no stack trace', () => {
  const dir = tempDir('compress-cli');
  const file = config(dir);
  const run = spawnSync(
    process.execPath,
    [BIN, 'run', file, '--run-dir', join(dir, 'run'), '--set', 'train.epochs=1'],
    { encoding: 'utf8' },
  );
  assert.equal(run.status, 0, run.stderr);
  const r = spawnSync(process.execPath, [BIN, 'compress', join(dir, 'run')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /is not an ε-ResNet run/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const missing = spawnSync(process.execPath, [BIN, 'resume', join(dir, 'nowhere')], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /is not a run folder/);
});
