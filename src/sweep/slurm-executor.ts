import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { REQUEUE_EXIT_CODE } from '../util/processes.js';
import {
  finishAttempt,
  recordRequeue,
  requeuesOf,
  startAttempt,
  willRetry,
  type Outcome,
  type SlurmJob,
} from './ledger.js';
import { logTail } from './log-tail.js';
import {
  FINAL_STATES,
  sbatch,
  scancel,
  scontrolJobs,
  scontrolRequeue,
  squeueStates,
  type SlurmTaskState,
} from './slurm-cli.js';
import { rankLauncher, rankResources } from './slurm-ranks.js';
import { reconcileSlurm } from './slurm-reconcile.js';
import { readTaskRecord, type TaskLine } from './slurm-task.js';
import type { Executor, SweepLaunch } from './executor.js';
import type { SlurmExecutor } from './sweep-file.js';
import { confirmDone, trialFiles, type Trial } from './trial.js';

/** A sweep's `executor: { type: slurm }` section: trials as one Slurm job array, followed through squeue and scontrol. */
export function slurmExecutor(executor: SlurmExecutor): Executor {
  return { type: 'slurm', launch: (o) => runSlurm({ ...o, executor }) };
}

type SlurmRunOptions = SweepLaunch & { executor: SlurmExecutor };

const LAUNCHER = fileURLToPath(new URL('./slurm-task.js', import.meta.url));
/** squeue must miss a job this many polls in a row before it counts as forgotten (a poll can race a submission). */
const MISSES_BEFORE_FORGOTTEN = 2;
/** A cancelled sweep stops waiting for a Slurm that does not answer after this many polls. */
const GIVE_UP_AFTER_FAILURES = 10;

/** Submits the trials not done as one job array and follows them until every one has an outcome (a cancel sends them scancel). */
async function runSlurm(o: SlurmRunOptions): Promise<void> {
  const { watch, submit } = await reconcileSlurm(o);
  if (submit.length && !o.cancel.aborted)
    for (const [jobId, trial] of await submitTrials(o, submit)) watch.set(jobId, trial);
  if (!o.wait) {
    if (watch.size)
      o.observer.note(`${watch.size} trial(s) queued or running in Slurm; run the sweep again to follow them`);
    return;
  }
  await follow(o, watch);
}

function sbatchArgs(o: SlurmRunOptions, slurmDir: string, count: number): string[] {
  const x = o.executor;
  return [
    `--job-name=${o.sweep}`,
    `--output=${join(slurmDir, count > 1 ? '%A_%a.out' : '%j.out')}`,
    `--chdir=${process.cwd()}`,
    ...(x.partition ? [`--partition=${x.partition}`] : []),
    ...(x.time ? [`--time=${x.time}`] : []),
    `--cpus-per-task=${x.cpus_per_task}`,
    ...(x.gpus > 0 ? [`--gpus=${x.gpus}`] : []),
    ...rankResources(x),
    ...(count > 1 ? [`--array=0-${count - 1}${x.array_limit ? `%${x.array_limit}` : ''}`] : []),
    // B: sends the warning to the batch shell alone (our launcher), which passes it to the run and requeues the task
    `--signal=B:${x.requeue_signal}@${x.signal_grace_s}`,
    '--requeue',
    // A requeued job appends to its output file instead of truncating it
    '--open-mode=append',
    ...x.extra_args,
  ];
}

/** One sbatch for all of them: a job array whose task i runs line i of a task file. */
async function submitTrials(o: SlurmRunOptions, trials: Trial[]): Promise<Map<string, Trial>> {
  const slurmDir = join(o.sweepDir, 'slurm');
  mkdirSync(slurmDir, { recursive: true });
  const tasksFile = join(slurmDir, `tasks-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
  const pending: SlurmJob = {
    type: 'slurm',
    job_id: '',
    array_job_id: '',
    tasks_file: tasksFile,
    slurm_state: 'SUBMITTING',
  };
  const claimed = await o.ledger.update((d) =>
    trials
      .filter((t) => !['done', 'running'].includes(d.trials[t.id]?.state ?? 'done'))
      .map((t) => ({ trial: t, entry: structuredClone(startAttempt(d, t.id, pending)) })),
  );
  if (!claimed.length) return new Map();
  const requeue = {
    signal: o.executor.requeue_signal,
    max: o.executor.max_requeues,
    ledger: o.ledger.file,
    sweep: o.sweep,
  };
  const lines: TaskLine[] = claimed.map(({ trial }) => ({
    id: trial.id,
    dir: trial.dir,
    argv: [...rankLauncher(o.executor), ...o.command(trial)],
    requeue,
  }));
  for (const { trial } of claimed) mkdirSync(trial.dir, { recursive: true });
  writeFileSync(tasksFile, lines.map((l) => JSON.stringify(l) + '\n').join(''));
  // sbatch passes the arguments after the script to it; the script runs them as they are, no shell parsing
  const script = join(slurmDir, 'exec.sh');
  writeFileSync(script, '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
  const many = claimed.length > 1;
  let arrayId: string;
  try {
    arrayId = await sbatch(
      [...sbatchArgs(o, slurmDir, claimed.length), script, process.execPath, LAUNCHER, tasksFile],
      o.env,
    );
  } catch (err) {
    const outcome: Outcome = { state: 'failed', reason: (err as Error).message };
    const ended = await o.ledger.update((d) =>
      claimed.map(({ trial }) => structuredClone(finishAttempt(d, trial.id, outcome))),
    );
    claimed.forEach(({ trial }, i) => o.observer.finished(trial, ended[i]));
    return new Map();
  }
  const jobIdOf = (i: number) => (many ? `${arrayId}_${i}` : arrayId);
  const recorded = await o.ledger.update((d) =>
    claimed.map(({ trial }, i) => {
      const job: SlurmJob = {
        ...pending,
        job_id: jobIdOf(i),
        array_job_id: arrayId,
        slurm_state: 'PENDING',
        ...(many ? { array_task_id: i } : {}),
      };
      d.trials[trial.id].job = job;
      return structuredClone(d.trials[trial.id]);
    }),
  );
  claimed.forEach(({ trial }, i) => o.observer.started(trial, recorded[i]));
  o.observer.note(`submitted ${claimed.length} trial(s) as Slurm job ${arrayId}`);
  return new Map(claimed.map(({ trial }, i) => [jobIdOf(i), trial]));
}

/** Slurm states of a machine's failure, not the trial's: `retries` runs the trial again. */
const INFRASTRUCTURE_STATES = new Set(['NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL']);

/** Slurm's verdict as a ledger outcome: only COMPLETED with exit code 0 is done. */
export function slurmOutcome(
  s: SlurmTaskState & { exitCode?: number; signal?: number },
  cancelledByUs: boolean,
): Outcome {
  const reason = s.reason && s.reason !== 'None' ? `${s.state} (${s.reason})` : s.state;
  const codes = {
    ...(s.exitCode !== undefined ? { exit_code: s.exitCode } : {}),
    ...(s.signal ? { signal: `signal ${s.signal}` } : {}),
  };
  if (s.state === 'COMPLETED' && (s.exitCode ?? 0) === 0) return { state: 'done', ...codes };
  if (s.state === 'CANCELLED' || s.state === 'PREEMPTED')
    return { state: 'cancelled', ...codes, reason: cancelledByUs ? `${reason}: cancelled by the sweep` : reason };
  const killed = s.signal === SIGKILL;
  return {
    state: 'failed',
    ...codes,
    reason:
      s.state === 'COMPLETED'
        ? `COMPLETED with exit code ${s.exitCode}`
        : killed
          ? `${reason}, killed by SIGKILL`
          : reason,
    ...(INFRASTRUCTURE_STATES.has(s.state) || killed ? { infrastructure: true } : {}),
  };
}

const SIGKILL = 9;

/** The job's own exit record, for a job Slurm has forgotten (finished longer than MinJobAge ago). */
function forgottenOutcome(trial: Trial, jobId: string): Outcome {
  const rec = readTaskRecord(trial.dir);
  if (!rec || rec.job_id !== jobId || !rec.ended_at)
    return { state: 'failed', reason: `Slurm no longer knows job ${jobId} and the job left no exit record` };
  if (rec.exit_code === 0) return { state: 'done', exit_code: 0 };
  const interrupted = rec.exit_code === 130 || rec.signal === 'SIGTERM' || rec.signal === 'SIGINT';
  return {
    state: interrupted ? 'cancelled' : 'failed',
    exit_code: rec.exit_code,
    signal: rec.signal,
    reason: `exit record of job ${jobId} (Slurm no longer knows it)`,
  };
}

function slurmLog(o: SlurmRunOptions, job: string): string {
  return join(o.sweepDir, 'slurm', `${job}.out`);
}

/**
 * A job that ended on its time limit or a preemption, or whose launcher could not requeue it, goes back to the
 * queue under the same id while max_requeues allows: 'requeued', else the outcome that ends its attempt; null when
 * the job simply ended.
 */
async function requeueEnded(
  o: SlurmRunOptions,
  trial: Trial,
  jobId: string,
  s: SlurmTaskState & { exitCode?: number },
): Promise<'requeued' | Outcome | null> {
  const rec = readTaskRecord(trial.dir);
  const record = rec?.job_id === jobId && s.exitCode === REQUEUE_EXIT_CODE ? rec.requeue : undefined;
  const max = o.executor.max_requeues;
  if (record === 'limit')
    return {
      state: 'failed',
      exit_code: s.exitCode,
      reason: `stopped by its time limit again: max_requeues (${max}) reached`,
    };
  if (record !== 'asked' && s.state !== 'PREEMPTED' && s.state !== 'TIMEOUT') return null;
  const reason = s.reason && s.reason !== 'None' ? `${s.state} (${s.reason})` : s.state;
  // A launcher that asked has recorded its requeue already
  const within =
    record === 'asked' ||
    (await o.ledger.update((d) => {
      if (requeuesOf(d.trials[trial.id], jobId) >= max) return false;
      recordRequeue(d, trial.id, { job_id: jobId, reason, by: 'sweep' });
      return true;
    }));
  if (!within) return { state: 'failed', reason: `${reason}: max_requeues (${max}) reached` };
  try {
    await scontrolRequeue(jobId, o.env);
  } catch (err) {
    return { state: 'failed', reason: `${reason}; ${(err as Error).message}` };
  }
  o.observer.note(`${trial.slug}: ${reason}; requeued ${jobId}, it resumes from its checkpoint`);
  return 'requeued';
}

/** Polls squeue until every watched job is final; scontrol supplies exit codes of the final ones. */
async function follow(o: SlurmRunOptions, watch: Map<string, Trial>): Promise<void> {
  const seen = new Map<string, string>();
  const misses = new Map<string, number>();
  let cancelled = false;
  let failures = 0;
  while (watch.size) {
    const arrays = [...new Set([...watch.keys()].map((j) => j.split('_')[0]))];
    try {
      if (o.cancel.aborted && !cancelled) {
        await scancel(arrays, o.env);
        cancelled = true;
      }
      const states = new Map((await squeueStates(arrays, o.env)).map((s) => [s.jobId, s]));
      const finals: { jobId: string; trial: Trial; state?: SlurmTaskState }[] = [];
      for (const [jobId, trial] of watch) {
        const s = states.get(jobId);
        if (!s) {
          misses.set(jobId, (misses.get(jobId) ?? 0) + 1);
          if (misses.get(jobId)! >= MISSES_BEFORE_FORGOTTEN) finals.push({ jobId, trial });
        } else if (FINAL_STATES.has(s.state)) finals.push({ jobId, trial, state: s });
        else if (seen.get(jobId) !== s.state) {
          seen.set(jobId, s.state);
          await o.ledger.update((d) => void ((d.trials[trial.id].job as SlurmJob).slurm_state = s.state));
        }
      }
      const details = new Map<string, SlurmTaskState & { exitCode?: number; signal?: number }>();
      for (const id of new Set(finals.filter((f) => f.state).map((f) => f.state!.arrayJobId))) {
        for (const d of await scontrolJobs(id, o.env)) details.set(d.jobId, d);
      }
      for (const f of finals) {
        const s = f.state && (details.get(f.jobId) ?? f.state);
        const requeue = s && !cancelled ? await requeueEnded(o, f.trial, f.jobId, s) : null;
        if (requeue === 'requeued') {
          seen.delete(f.jobId);
          continue;
        }
        const outcome =
          requeue ?? confirmDone(f.trial, s ? slurmOutcome(s, cancelled) : forgottenOutcome(f.trial, f.jobId));
        if (outcome.state !== 'done') {
          const tail = logTail(trialFiles(f.trial.dir).log);
          outcome.log_tail = tail || logTail(slurmLog(o, f.jobId));
        }
        const entry = await o.ledger.update((d) => {
          (d.trials[f.trial.id].job as SlurmJob).slurm_state = s?.state ?? 'UNKNOWN';
          return structuredClone(finishAttempt(d, f.trial.id, outcome));
        });
        o.observer.finished(f.trial, entry);
        watch.delete(f.jobId);
        if (willRetry(entry, o.retries) && !o.cancel.aborted) {
          o.observer.note(
            `${entry.slug}: ${entry.reason}; retrying (attempt ${entry.attempts + 1} of ${o.retries + 1})`,
          );
          for (const [jobId, trial] of await submitTrials(o, [f.trial])) watch.set(jobId, trial);
        }
      }
      failures = 0;
    } catch (err) {
      failures += 1;
      if (failures === 1) o.observer.note(`${(err as Error).message}; retrying every ${o.executor.poll_s} s`);
      if (o.cancel.aborted && failures >= GIVE_UP_AFTER_FAILURES) {
        o.observer.note(
          `Slurm does not answer; ${watch.size} trial(s) stay running in the ledger until the sweep runs again`,
        );
        return;
      }
    }
    if (watch.size)
      await sleep(o.executor.poll_s * 1000, undefined, { signal: cancelled ? undefined : o.cancel }).catch(
        () => undefined,
      );
  }
}
