import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAddon } from '../../src/backends/libtorch/addon.js';
import { selectBackend } from '../../src/backends/select.js';
import { writeEnv } from '../../src/run/env.js';
import type { ExperimentConfig } from '../../src/registry/experiment.js';
import { tempDir } from '../helpers/tmp.js';

test('env.json records the CPU flags and the thread count the backend computes with, so a difference between machines can be explained', async () => {
  const backend = await selectBackend('wasm');
  const dir = tempDir('env');
  process.env.OMP_NUM_THREADS = '2';
  writeEnv(dir, { seed: 3 } as ExperimentConfig, {
    backend: { name: backend.name, attempts: backend.attempts },
    configDir: dir,
    plugins: [],
  });
  const env = JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8'));
  assert.equal(env.threads.backend, 1, 'tfjs runs wasm on one thread in Node');
  assert.equal(env.threads.settings.OMP_NUM_THREADS, '2');
  assert.ok(env.cpu.available_parallelism >= 1);
  if (process.platform === 'linux')
    assert.ok(Array.isArray(env.cpu.flags) && env.cpu.flags.length > 0, 'Linux lists its CPU flags');
});

test(
  'on libtorch, env.json says how many threads and which OpenMP wait policy the run got, and why',
  { skip: loadAddon().addon ? false : 'libtorch addon not built' },
  async () => {
    const backend = await selectBackend('libtorch', { threads: 1 });
    const dir = tempDir('env');
    writeEnv(dir, { seed: 3 } as ExperimentConfig, {
      backend: { name: backend.name, attempts: backend.attempts },
      configDir: dir,
      plugins: [],
    });
    const env = JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8'));
    assert.equal(env.threads.backend, 1);
    assert.equal(env.threads.libtorch.threads, 1);
    assert.equal(env.threads.libtorch.threads_why, 'train.threads');
    assert.ok(['default', 'passive', 'active'].includes(env.threads.libtorch.wait_policy));
    assert.ok(env.threads.libtorch.wait_policy_why.length > 0);
  },
);
