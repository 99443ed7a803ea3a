import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { LedgerEntry, SlurmJob } from '../../src/sweep/ledger.js';
import { trialProcesses } from '../../src/sweep/processes.js';
import { computedMetrics, epsilab, tinyConfig } from '../helpers/binary.js';
import { noSlurm, startSlurm } from '../helpers/slurm.js';
import { readLedger, until, writeSweepFile } from '../helpers/sweep.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

/** A sweep of the tiny 6-epoch config, one trial per seed, on the local Slurm. */
function sweepOf(extra: string, seeds: number[]): { root: string; file: string; ledger: string } {
  const root = tempDir('requeue');
  tinyConfig(root, 6);
  const file = writeSweepFile(
    root,
    `sweep: cut\nbase: tiny.yaml\nseeds: [${seeds.join(', ')}]\n${extra}output: { root: ${JSON.stringify(root)} }\n`,
  );
  return { root, file, ledger: join(root, 'cut', 'ledger.json') };
}

function entryOf(ledger: string, slug: string): LedgerEntry | undefined {
  return existsSync(ledger) ? Object.values(readLedger(ledger).trials).find((e) => e.slug === slug) : undefined;
}

const epochsDone = (dir: string) =>
  existsSync(join(dir, 'metrics.jsonl')) ? readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').length - 1 : 0;

/** Waits until Slurm holds the job PENDING again. */
async function pending(jobId: string, env: Record<string, string>): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(100))
    if ((await execa('squeue', ['-h', '-j', jobId, '-o', '%T'], { env })).stdout.trim() === 'PENDING') return;
  throw new Error(`timed out waiting for ${jobId} to be PENDING again`);
}

/** The trial's job id once the trial has trained `epochs` epochs under Slurm. */
async function trainingJob(root: string, ledger: string, slug: string, epochs = 1): Promise<string> {
  return until(
    () => {
      const e = entryOf(ledger, slug);
      const job = (e?.job as SlurmJob | undefined)?.job_id;
      return job && epochsDone(join(root, 'cut', e!.dir)) >= epochs ? job : undefined;
    },
    `${slug} training under Slurm`,
    90_000,
  );
}

describe(
  'trials cut off by Slurm resume to the end, through the binary on a real one-node Slurm',
  { skip: noSlurm },
  () => {
    let slurm: Awaited<ReturnType<typeof startSlurm>>;
    let env: Record<string, string>;

    before(async () => {
      slurm = await startSlurm();
      env = { SLURM_CONF: slurm.env.SLURM_CONF! };
    });
    after(async () => {
      await slurm?.stop();
      removeTempDirs();
    });

    test(
      'the time-limit signal checkpoints the run, requeues its array task alone, and it ends as an uninterrupted run',
      { timeout: 240_000 },
      async () => {
        const s = sweepOf('executor: { type: slurm, poll_s: 0.2, max_requeues: 2 }\n', [0, 1]);
        const sweep = epsilab(['sweep', s.file], env);
        const jobId = await trainingJob(s.root, s.ledger, 'seed=0');
        assert.match(jobId, /^\d+_0$/, 'the trials run as one job array');
        // What Slurm does signal_grace_s before the time limit, sent at once
        await execa('scancel', ['--signal=HUP', '--batch', jobId], { env });
        await until(() => entryOf(s.ledger, 'seed=0')?.requeues?.length === 1, 'the requeue in the ledger', 60_000);
        await pending(jobId, env);
        // A requeued job waits out Slurm's credential lifetime (cred_expire, 120 s) before it may start again
        await execa('scontrol', ['update', `JobId=${jobId}`, 'StartTime=now'], { env });
        const ran = await sweep;
        assert.equal(ran.code, 0, ran.out);

        const cut = entryOf(s.ledger, 'seed=0')!;
        const other = entryOf(s.ledger, 'seed=1')!;
        assert.equal(cut.state, 'done');
        assert.equal(cut.attempts, 1, 'a requeue continues the attempt');
        assert.equal((cut.job as SlurmJob).job_id, jobId, 'the same array task ran again');
        assert.equal(cut.requeues!.length, 1);
        assert.deepEqual(
          { by: cut.requeues![0].by, job_id: cut.requeues![0].job_id, reason: cut.requeues![0].reason },
          { by: 'job', job_id: jobId, reason: 'SIGHUP: time limit near' },
        );
        assert.equal(other.state, 'done');
        assert.equal(other.requeues, undefined, 'the other task of the array was not requeued');
        const log = readFileSync(join(s.root, 'cut', cut.dir, 'trial.log'), 'utf8');
        assert.match(log, /SIGHUP \(time limit near\): checkpoint written at epoch \d, step \d/);
        assert.match(log, /\(restart 1\)[^]*resuming from .* at epoch \d+/);

        const reference = join(s.root, 'reference');
        const plain = await epsilab(['run', join(s.root, 'tiny.yaml'), '--set', 'seed=0', '--run-dir', reference]);
        assert.equal(plain.code, 0, plain.out);
        assert.deepEqual(computedMetrics(join(s.root, 'cut', cut.dir)), computedMetrics(reference));

        const status = await epsilab(['sweep', s.file, '--status'], env);
        assert.match(status.out, new RegExp(`${cut.id}  done \\(SIGHUP: time limit near\\)  1 +1 +seed=0`));
      },
    );

    test(
      'a run killed with SIGKILL is retried under retries: a new job that resumes from its checkpoint',
      { timeout: 240_000 },
      async () => {
        const s = sweepOf('retries: 1\nexecutor: { type: slurm, poll_s: 0.2 }\n', [0]);
        const sweep = epsilab(['sweep', s.file], env);
        // Past epoch 2's metrics, epoch 1's checkpoint is on disk
        await trainingJob(s.root, s.ledger, 'seed=0', 2);
        const dir = join(s.root, 'cut', entryOf(s.ledger, 'seed=0')!.dir);
        const pids = trialProcesses(dir);
        assert.equal(pids.length, 1, 'the run process of the trial');
        process.kill(pids[0], 'SIGKILL');
        const ran = await sweep;
        assert.equal(ran.code, 0, ran.out);
        const e = entryOf(s.ledger, 'seed=0')!;
        assert.equal(e.state, 'done');
        assert.equal(e.attempts, 2);
        assert.equal(e.history.length, 2, 'both attempts are in the ledger');
        assert.equal(e.history[0].state, 'failed');
        assert.equal(e.history[0].infrastructure, true);
        assert.match(e.history[0].reason!, /SIGKILL/);
        assert.notEqual((e.history[0].job as SlurmJob).job_id, (e.history[1].job as SlurmJob).job_id);
        assert.match(readFileSync(join(dir, 'trial.log'), 'utf8'), /resuming from .* at epoch \d+/);
      },
    );
  },
);
