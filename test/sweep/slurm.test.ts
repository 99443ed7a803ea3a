import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { runSweep } from '../../src/sweep/run-sweep.js';
import type { SlurmJob } from '../../src/sweep/ledger.js';
import { readLedger, recorder, runsOf, scriptCommand, until, workspace, writeSweepFile } from '../helpers/sweep.js';
import { noSlurm, startSlurm } from '../helpers/slurm.js';
import { removeTempDirs } from '../helpers/tmp.js';

const sweepYaml = (root: string, epsilons: number[], seeds: number[]) =>
  `sweep: onslurm\nbase: tiny.yaml\ngrid: { model.epsilon: [${epsilons.join(', ')}] }\nseeds: [${seeds.join(', ')}]\n` +
  `executor: { type: slurm, array_limit: 2, poll_s: 0.2 }\noutput: { root: ${root} }\n`;

describe('the Slurm executor on a real one-node Slurm', { skip: noSlurm }, () => {
  let slurm: Awaited<ReturnType<typeof startSlurm>>;
  let env: NodeJS.ProcessEnv = {};

  before(async () => {
    slurm = await startSlurm();
    env = slurm.env;
  });
  after(async () => {
    await slurm?.stop();
    removeTempDirs();
  });

  test('a 2 x 2 sweep runs as one job array and every trial is done, in the local ledger format', async () => {
    const w = workspace();
    const s = await runSweep({
      file: writeSweepFile(w.dir, sweepYaml(w.dir, [1, 2], [0, 1])),
      env,
      observer: recorder(),
      command: scriptCommand(w.script, () => ({ ms: 200 })),
    });
    assert.deepEqual(s.counts, { pending: 0, running: 0, done: 4, failed: 0, cancelled: 0 });
    const jobs = s.entries.map((e) => e.job as SlurmJob);
    assert.equal(new Set(jobs.map((j) => j.array_job_id)).size, 1);
    assert.deepEqual(
      jobs.map((j) => j.array_task_id),
      [0, 1, 2, 3],
    );
    assert.deepEqual(
      jobs.map((j) => j.job_id),
      [0, 1, 2, 3].map((i) => `${jobs[0].array_job_id}_${i}`),
    );
    assert.ok(jobs.every((j) => j.slurm_state === 'COMPLETED'));
    assert.deepEqual(
      Object.keys(s.entries[0]).sort(),
      [
        'attempts',
        'created_at',
        'dir',
        'ended_at',
        'exit_code',
        'history',
        'id',
        'job',
        'slug',
        'started_at',
        'state',
      ].sort(),
    );
    for (const e of s.entries) assert.equal(runsOf(join(s.dir, e.dir)), 1);
  });

  test('a trial that exits non-zero is recorded failed with the exit code Slurm reports and its log tail', async () => {
    const w = workspace();
    const s = await runSweep({
      file: writeSweepFile(w.dir, sweepYaml(w.dir, [2], [0])),
      env,
      observer: recorder(),
      command: scriptCommand(w.script, () => ({ ms: 50, code: 3 })),
    });
    const [e] = s.entries;
    assert.equal(e.state, 'failed');
    assert.equal(e.exit_code, 3);
    assert.equal(e.reason, 'FAILED (NonZeroExitCode)');
    assert.match(e.log_tail!, /boom: loss is nan at step 7$/);
    assert.equal((e.job as SlurmJob).array_task_id, undefined, 'a single trial is a plain job');
  });

  test('cancelling scancels the jobs: running and queued trials are recorded cancelled, none left running', async () => {
    const w = workspace();
    const controller = new AbortController();
    const file = writeSweepFile(w.dir, sweepYaml(w.dir, [1, 2, 3], [0]));
    const sweep = runSweep({
      file,
      env,
      observer: recorder(),
      cancel: controller.signal,
      command: scriptCommand(w.script, () => ({ ms: 60_000 })),
    });
    const root = join(w.dir, 'onslurm');
    const started = () =>
      readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory() && runsOf(join(root, d.name)) === 1)
        .length;
    await until(() => existsSync(root) && started() === 2, 'two trials running under Slurm');
    const t0 = Date.now();
    controller.abort();
    const s = await sweep;
    assert.ok(Date.now() - t0 < 20_000);
    assert.deepEqual(s.counts, { pending: 0, running: 0, done: 0, failed: 0, cancelled: 3 });
    assert.ok(s.entries.every((e) => e.reason?.startsWith('CANCELLED') && e.reason.endsWith('cancelled by the sweep')));
    const squeue = await execa(
      'squeue',
      ['-h', '-t', 'all', '-j', (s.entries[0].job as SlurmJob).array_job_id, '-o', '%T'],
      { env },
    );
    assert.ok(
      squeue.stdout.split('\n').every((st) => st === 'CANCELLED'),
      squeue.stdout,
    );
  });

  test('a sweep process killed with SIGKILL after submitting follows the same jobs when started again', async () => {
    const w = workspace();
    const file = writeSweepFile(w.dir, sweepYaml(w.dir, [1, 2], [0, 1]));
    const runSweepModule = fileURLToPath(new URL('../../src/sweep/run-sweep.js', import.meta.url));
    const driver = `const { runSweep } = await import(${JSON.stringify(runSweepModule)});
const quiet = { started() {}, finished() {}, note() {} };
const s = await runSweep({ file: process.argv[1], observer: quiet, command: (t) => [process.execPath, process.argv[2], t.dir, '1500', '0'] });
process.exit(s.counts.done === s.entries.length ? 0 : 1);`;
    const args = ['--input-type=module', '-e', driver, file, w.script];
    const ledgerFile = join(w.dir, 'onslurm', 'ledger.json');
    const killed = execa(process.execPath, args, { env, reject: false });
    const submitted = await until(() => {
      const trials = existsSync(ledgerFile) ? Object.values(readLedger(ledgerFile).trials) : [];
      return (
        trials.length === 4 &&
        trials.every((e) => (e.job as SlurmJob | undefined)?.job_id) &&
        trials.map((e) => (e.job as SlurmJob).job_id)
      );
    }, 'four submitted trials');
    killed.kill('SIGKILL');
    await killed;
    const resumed = await execa(process.execPath, args, { env, reject: false });
    assert.equal(resumed.exitCode, 0, resumed.stderr);
    const after = Object.values(readLedger(ledgerFile).trials);
    assert.deepEqual(
      after.map((e) => (e.job as SlurmJob).job_id),
      submitted,
      'no trial was submitted again',
    );
    assert.ok(after.every((e) => e.state === 'done' && e.attempts === 1));
    for (const e of after) assert.equal(runsOf(join(w.dir, 'onslurm', e.dir)), 1);
    assert.equal(readdirSync(join(w.dir, 'onslurm', 'slurm')).filter((f) => f.startsWith('tasks-')).length, 1);
  });
});
