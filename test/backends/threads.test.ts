import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadAddon } from '../../src/backends/libtorch/addon.js';
import {
  CORES_SHARED_BY,
  applyWaitPolicy,
  chooseThreads,
  chooseWaitPolicy,
  sharedCoresEnv,
} from '../../src/backends/threads.js';

test('a run with its cores to itself gets one thread per core and OpenMP’s default wait policy', () => {
  assert.deepEqual(chooseThreads(undefined, {}, 8), { value: 8, why: 'one per core' });
  assert.deepEqual(chooseWaitPolicy({}, 8, 7.5), { value: null, why: 'the run has its cores to itself' });
});

test('a busy machine (a load average of a task per core or more) gets passive waiting, and no fewer threads', () => {
  assert.deepEqual(chooseWaitPolicy({}, 2, 2.4), {
    value: 'passive',
    why: 'the machine is busy: load average 2.4 on 2 cores',
  });
  assert.equal(chooseThreads(undefined, {}, 2).value, 2);
});

test('processes sharing the cores divide them and wait passively; a launcher of one process shares nothing', () => {
  assert.deepEqual(sharedCoresEnv(3), { [CORES_SHARED_BY]: '3' });
  const env: NodeJS.ProcessEnv = { ...sharedCoresEnv(3) };
  assert.equal(chooseThreads(undefined, env, 8).value, 2);
  assert.equal(chooseThreads(undefined, { ...sharedCoresEnv(4) }, 2).value, 1, 'never fewer than one thread');
  assert.match(chooseWaitPolicy(env, 8, 0).why, /3 processes share the 8 cores/);
  applyWaitPolicy(env);
  assert.equal(env.OMP_WAIT_POLICY, 'passive');
  assert.deepEqual(sharedCoresEnv(1), {});
});

test('train.threads, EPSILAB_TORCH_THREADS and OMP_WAIT_POLICY as set win over the defaults', () => {
  const shared = { [CORES_SHARED_BY]: '2', EPSILAB_TORCH_THREADS: '3', OMP_WAIT_POLICY: 'ACTIVE' };
  assert.deepEqual(chooseThreads(5, shared, 8), { value: 5, why: 'train.threads' });
  assert.deepEqual(chooseThreads(undefined, shared, 8), { value: 3, why: 'EPSILAB_TORCH_THREADS' });
  assert.deepEqual(chooseWaitPolicy(shared, 8, 20), { value: 'active', why: 'OMP_WAIT_POLICY=active as set' });
  const env: NodeJS.ProcessEnv = { ...shared };
  applyWaitPolicy(env);
  assert.equal(env.OMP_WAIT_POLICY, 'ACTIVE', 'a policy set by the user is left as it is');
});

const registerScript = fileURLToPath(new URL('../helpers/register-libtorch.js', import.meta.url));

/** libgomp's own report of the wait it started with (OMP_DISPLAY_ENV), and what the backend says it chose. */
function startLibtorch(env: Record<string, string>): { spin: string; threads: number; why: string } {
  const base = { ...process.env };
  delete base.OMP_WAIT_POLICY;
  delete base[CORES_SHARED_BY];
  delete base.EPSILAB_TORCH_THREADS;
  const run = spawnSync(process.execPath, [registerScript], {
    env: { ...base, OMP_DISPLAY_ENV: 'verbose', ...env },
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  const spin = /GOMP_SPINCOUNT = '(\d+)'/.exec(run.stderr + run.stdout)?.[1] ?? 'not reported';
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { threads: number; why: string };
  return { spin, ...result };
}

test(
  'libgomp starts with the chosen wait policy: spinning by default, none where the cores are shared or busy',
  { skip: loadAddon().addon ? false : 'libtorch addon not built' },
  () => {
    const alone = startLibtorch({});
    assert.equal(alone.threads, availableParallelism());
    // Alone, what it chose depends on the machine's load; libgomp must have started with what it says it chose.
    const busy = /passive OpenMP wait policy \(the machine is busy/.test(alone.why);
    if (!busy) assert.match(alone.why, /default OpenMP wait policy \(the run has its cores to itself\)/);
    if (busy) assert.equal(alone.spin, '0', alone.why);
    else assert.notEqual(alone.spin, '0', 'OpenMP spins a while before sleeping');
    const shared = startLibtorch(sharedCoresEnv(2));
    assert.equal(shared.spin, '0', 'passive: no spinning');
    assert.equal(shared.threads, Math.max(1, Math.floor(availableParallelism() / 2)));
    assert.match(shared.why, /and passive OpenMP wait policy \(2 processes share the \d+ cores/);
  },
);
