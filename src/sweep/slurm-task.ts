import { spawn, spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeJsonAtomic } from '../util/atomic.js';
import { REQUEUE_EXIT_CODE, REQUEUE_SIGNAL_ENV } from '../util/processes.js';
import { Ledger, recordRequeue, requeuesOf } from './ledger.js';

/** One line of a submission's task file: array task i runs line i. */
export interface TaskLine {
  id: string;
  dir: string;
  argv: string[];
  /** How the job requeues itself on Slurm's time-limit signal; the ledger is where each requeue is recorded. */
  requeue: RequeuePolicy;
}

export interface RequeuePolicy {
  /** Without the SIG prefix, as sbatch --signal takes it. */
  signal: string;
  max: number;
  ledger: string;
  sweep: string;
}

/** Written into the trial folder by the job itself: outlives Slurm's memory of the job (MinJobAge). */
export interface TaskRecord {
  job_id: string;
  tasks_file: string;
  host: string;
  started_at: string;
  ended_at?: string;
  exit_code?: number;
  signal?: string;
  /**
   * Set when the job ended on the requeue signal: `asked` (recorded in the ledger, but scontrol failed here: the
   * sweep process requeues it) or `limit` (max_requeues reached: the trial failed).
   */
  requeue?: 'asked' | 'limit';
}

export const taskRecordFile = (dir: string): string => join(dir, 'slurm-task.json');

export function readTaskRecord(dir: string): TaskRecord | null {
  const file = taskRecordFile(dir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as TaskRecord) : null;
}

/** How long a job that requeued itself waits for Slurm to stop it before it exits on its own. */
const REQUEUE_STOP_WAIT_MS = 300_000;

/**
 * Brings the ledger in line with SLURM_RESTART_COUNT (Slurm itself requeues a preempted job under
 * PreemptMode=REQUEUE) and says whether this run of the job is within max_requeues.
 */
async function admitRestart(ledger: Ledger, task: TaskLine, jobId: string, restarts: number): Promise<boolean> {
  return ledger.update((d) => {
    const e = d.trials[task.id];
    let recorded = requeuesOf(e, jobId);
    while (recorded < restarts)
      recorded = recordRequeue(d, task.id, {
        job_id: jobId,
        reason: `requeued by Slurm (restart ${recorded + 1}: preemption or node failure)`,
        by: 'slurm',
      });
    return recorded <= task.requeue.max;
  });
}

/** Records the requeue in the ledger and asks Slurm for it; what the job's record says happened. */
async function requeueSelf(
  ledger: Ledger,
  task: TaskLine,
  jobId: string,
  log: (line: string) => void,
): Promise<'requeued' | 'asked' | 'limit'> {
  const reason = `SIG${task.requeue.signal}: time limit near`;
  const within = await ledger.update((d) => {
    if (requeuesOf(d.trials[task.id], jobId) >= task.requeue.max) return false;
    recordRequeue(d, task.id, { job_id: jobId, reason, by: 'job' });
    return true;
  });
  if (!within) {
    log(`max_requeues (${task.requeue.max}) reached: the trial is not requeued again`);
    return 'limit';
  }
  const r = spawnSync('scontrol', ['requeue', jobId], { encoding: 'utf8' });
  if (r.status === 0) {
    log(`${reason}: checkpoint written; requeued ${jobId}, it resumes when Slurm runs it again`);
    return 'requeued';
  }
  log(`scontrol requeue ${jobId} failed here (${r.error?.message ?? r.stderr.trim()}); the sweep process requeues it`);
  await ledger.update((d) => void (d.trials[task.id].requeues!.at(-1)!.by = 'sweep'));
  return 'asked';
}

/**
 * Runs inside a Slurm job: `node slurm-task.js <tasks.jsonl>` picks the line of SLURM_ARRAY_TASK_ID (0 for a plain
 * job), runs its command with output appended to the trial's log, and exits as the trial did. On the requeue signal
 * (sbatch --signal=B:...) it passes the signal to the run, which checkpoints and exits REQUEUE_EXIT_CODE, and then
 * requeues this array task alone.
 */
async function main(tasksFile: string): Promise<void> {
  const env = process.env;
  const index = Number(env.SLURM_ARRAY_TASK_ID ?? 0);
  const task = JSON.parse(readFileSync(tasksFile, 'utf8').split('\n').filter(Boolean)[index]) as TaskLine;
  const jobId = env.SLURM_ARRAY_JOB_ID ? `${env.SLURM_ARRAY_JOB_ID}_${index}` : (env.SLURM_JOB_ID ?? '?');
  const ledger = new Ledger(task.requeue.ledger, task.requeue.sweep);
  const record: TaskRecord = {
    job_id: jobId,
    tasks_file: tasksFile,
    host: hostname(),
    started_at: new Date().toISOString(),
  };
  writeJsonAtomic(taskRecordFile(task.dir), record);
  const log = openSync(join(task.dir, 'trial.log'), 'a');
  const say = (line: string) => writeSync(log, `${line}\n`);
  const restarts = Number(env.SLURM_RESTART_COUNT ?? 0);
  say(
    `=== Slurm job ${jobId} on ${record.host} at ${record.started_at}${restarts ? ` (restart ${restarts})` : ''}: ${task.argv.join(' ')}`,
  );
  const end = (fields: Partial<TaskRecord>) =>
    writeJsonAtomic(taskRecordFile(task.dir), { ...record, ended_at: new Date().toISOString(), ...fields });
  if (restarts && !(await admitRestart(ledger, task, jobId, restarts))) {
    say(`requeued ${restarts} times, more than max_requeues (${task.requeue.max}): not run again`);
    end({ exit_code: REQUEUE_EXIT_CODE, requeue: 'limit' });
    process.exit(REQUEUE_EXIT_CODE);
  }
  // Slurm signals every process of the job on cancel, the trial included; passing those on would reach it twice
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => undefined);
  const requeueSignal = `SIG${task.requeue.signal}` as NodeJS.Signals;
  let warned = false;
  const child = spawn(task.argv[0], task.argv.slice(1), {
    stdio: ['ignore', log, log],
    env: { ...env, [REQUEUE_SIGNAL_ENV]: requeueSignal },
  });
  // With B: only this batch shell gets Slurm's warning: the run gets it from here
  process.on(requeueSignal, () => {
    warned = true;
    child.kill(requeueSignal);
  });
  child.on('error', (err) => {
    say(`cannot start ${task.argv[0]}: ${err.message}`);
    end({ exit_code: 127 });
    process.exit(127);
  });
  child.on('exit', (code, signal) => void ended(code, signal));
  const ended = async (code: number | null, signal: NodeJS.Signals | null) => {
    // A run stopped by the warning, before or after it could checkpoint, resumes from its last checkpoint
    if (warned && code !== 0 && (code === REQUEUE_EXIT_CODE || code === 130 || signal === requeueSignal)) {
      const result = await requeueSelf(ledger, task, jobId, say);
      end({ exit_code: REQUEUE_EXIT_CODE, ...(result === 'requeued' ? {} : { requeue: result }) });
      // scontrol requeue ends this job (SIGTERM, ignored above, then SIGKILL); exit only if Slurm never does
      if (result === 'requeued') setTimeout(() => process.exit(REQUEUE_EXIT_CODE), REQUEUE_STOP_WAIT_MS);
      else process.exit(REQUEUE_EXIT_CODE);
      return;
    }
    end(code !== null ? { exit_code: code } : { signal: signal ?? undefined });
    if (code !== null) process.exit(code);
    process.removeAllListeners(signal!);
    process.kill(process.pid, signal!);
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main(process.argv[2]);
