import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/paths.js';
import { tempDir } from '../helpers/tmp.js';

const BIN = join(projectRoot(), 'bin', 'epsilab.js');

test('`epsilab repro` re-runs the quickstart (reduced by --set) and finds every metric equal on the same backend, warning about what changed', () => {
  const dir = tempDir('repro');
  const runDir = join(dir, 'run');
  // The quickstart config itself, cut to ResNet-8, 64/50 images and 2 steps so the test takes seconds; wasm as every install has it.
  const sets = [
    'backend=wasm',
    'model.depth=8',
    'train.epochs=1',
    'train.steps_per_epoch=2',
    'train.batch_size=16',
    'train.eval_batch_size=50',
    'dataset.subset={train: {first: 64}, test: {first: 50}}',
  ];
  const run = spawnSync(
    process.execPath,
    [
      BIN,
      'run',
      join(projectRoot(), 'configs', 'quickstart.yaml'),
      '--run-dir',
      runDir,
      ...sets.flatMap((s) => ['--set', s]),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(run.status, 0, run.stderr);
  // As if the run had been recorded with another commit and another version of a package.
  const envFile = join(runDir, 'env.json');
  const env = JSON.parse(readFileSync(envFile, 'utf8'));
  env.git.commit = '0'.repeat(40);
  env.packages.yaml = '0.0.1';
  writeFileSync(envFile, JSON.stringify(env));

  const r = spawnSync(process.execPath, [BIN, 'repro', runDir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /warning: git commit: recorded "0{40}"/);
  assert.match(r.stdout, /warning: package yaml: recorded "0\.0\.1"/);
  assert.match(r.stdout, /reproduced: every metric equal/);
  const record = JSON.parse(readFileSync(join(runDir, 'repro-1', 'repro.json'), 'utf8')) as {
    comparison: string;
    matched: boolean;
    metrics: { metric: string; match: boolean }[];
    not_compared: string[];
  };
  assert.equal(record.comparison, 'exact');
  assert.equal(record.matched, true);
  for (const m of ['train_loss', 'test_loss', 'test_error', 'test_top5_error', 'params', 'flops'])
    assert.ok(
      record.metrics.some((x) => x.metric === m && x.match),
      m,
    );
  assert.ok(record.not_compared.includes('images_per_sec'), 'speed is not a result');

  const unfinished = spawnSync(process.execPath, [BIN, 'repro', dir], { encoding: 'utf8' });
  assert.equal(unfinished.status, 2);
  assert.match(unfinished.stderr, /is not a run folder/);
  assert.doesNotMatch(unfinished.stderr, /\n\s+at /);
});
