import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandTaskSpec, FINAL_STATES } from '../../src/sweep/slurm-cli.js';
import { slurmOutcome } from '../../src/sweep/slurm-executor.js';

const task = (state: string, reason = 'None', exitCode = 0, signal = 0) => ({
  jobId: '7_1',
  arrayJobId: '7',
  taskId: 1,
  state,
  reason,
  exitCode,
  signal,
});

test('only COMPLETED with exit code 0 is done; every other final state is failed or cancelled, with its reason', () => {
  assert.deepEqual(slurmOutcome(task('COMPLETED'), false), { state: 'done', exit_code: 0 });
  assert.deepEqual(slurmOutcome(task('COMPLETED', 'None', 2), false), {
    state: 'failed',
    exit_code: 2,
    reason: 'COMPLETED with exit code 2',
  });
  assert.deepEqual(slurmOutcome(task('FAILED', 'NonZeroExitCode', 3), false), {
    state: 'failed',
    exit_code: 3,
    reason: 'FAILED (NonZeroExitCode)',
  });
  assert.deepEqual(slurmOutcome(task('TIMEOUT', 'TimeLimit', 0, 15), false), {
    state: 'failed',
    exit_code: 0,
    signal: 'signal 15',
    reason: 'TIMEOUT (TimeLimit)',
  });
  for (const state of ['NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE'])
    assert.equal(slurmOutcome(task(state), false).state, 'failed', state);
  assert.deepEqual(slurmOutcome(task('CANCELLED', 'None', 0, 15), true), {
    state: 'cancelled',
    exit_code: 0,
    signal: 'signal 15',
    reason: 'CANCELLED: cancelled by the sweep',
  });
  assert.equal(slurmOutcome(task('PREEMPTED'), false).state, 'cancelled');
  for (const state of ['PENDING', 'RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED', 'REQUEUED'])
    assert.equal(FINAL_STATES.has(state), false, state);
});

test('array task specs as squeue and scontrol print them', () => {
  assert.deepEqual(expandTaskSpec('0-3%2'), [0, 1, 2, 3]);
  assert.deepEqual(expandTaskSpec('2,5-7'), [2, 5, 6, 7]);
  assert.deepEqual(expandTaskSpec('0-9:3'), [0, 3, 6, 9]);
  assert.deepEqual(expandTaskSpec('4'), [4]);
});
