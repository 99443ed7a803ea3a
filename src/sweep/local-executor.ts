import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import {
  finishAttempt,
  requeue,
  startAttempt,
  willRetry,
  type LedgerEntry,
  type LocalJob,
  type Outcome,
} from './ledger.js';
import { logTail } from './log-tail.js';
import { signalGroup, trialProcesses } from './processes.js';
import { running } from '../util/processes.js';
import { sharedCoresEnv } from '../backends/threads.js';
import type { Executor, SweepLaunch } from './executor.js';
import type { LocalExecutor } from './sweep-file.js';
import { confirmDone, trialFiles, type Trial } from './trial.js';

/** A sweep's `executor: { type: local }` section: trials as child processes of this one. */
export function localExecutor(executor: LocalExecutor): Executor {
  return { type: 'local', launch: (o) => runLocal({ ...o, executor }) };
}

type LocalRunOptions = SweepLaunch & { executor: LocalExecutor };

type Work = { trial: Trial; orphans?: number[] };

/** Trials as child processes, at most `max_parallel` at once; a free slot takes the next trial at once (a cancel sends them SIGTERM). */
async function runLocal(o: LocalRunOptions): Promise<void> {
  const queue = await reconcile(o);
  const stoppers = new Set<() => void>();
  const onCancel = () => stoppers.forEach((stop) => stop());
  o.cancel.addEventListener('abort', onCancel, { once: true });
  const parallel = Math.min(o.executor.max_parallel, queue.length);
  // Trials running at once share this machine's cores: each takes its part of them and waits passively.
  const trialOptions = { ...o, env: { ...o.env, ...sharedCoresEnv(parallel) } };
  const worker = async () => {
    for (let work = queue.shift(); work && !o.cancel.aborted; work = queue.shift()) {
      if (work.orphans && !(await awaitOrphans(o, work.trial, work.orphans, stoppers))) continue;
      for (
        let e = await runTrial(trialOptions, work.trial, stoppers);
        e && willRetry(e, o.retries) && !o.cancel.aborted;

      ) {
        o.observer.note(`${e.slug}: ${e.reason}; retrying (attempt ${e.attempts + 1} of ${o.retries + 1})`);
        e = await runTrial(trialOptions, work.trial, stoppers);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: parallel }, worker));
    // A cancel leaves no trial recorded running: processes of a killed sweep not yet waited for are stopped too
    await Promise.all(queue.filter((w) => w.orphans).map((w) => awaitOrphans(o, w.trial, w.orphans!, stoppers)));
  } finally {
    o.cancel.removeEventListener('abort', onCancel);
  }
}

/**
 * What to run: trials not done. A `running` entry left by a sweep process that is gone is taken over: its trial
 * process, if still alive, is waited for first; then the trial runs again (the run resumes or finds itself done).
 */
async function reconcile(o: LocalRunOptions): Promise<Work[]> {
  const data = o.ledger.read();
  const orphaned: Work[] = [];
  const rest: Work[] = [];
  for (const trial of o.trials) {
    const e = data.trials[trial.id];
    if (!e || e.state === 'done') continue;
    if (e.state === 'running') {
      const owner = ownerElsewhere(e);
      if (owner) {
        o.observer.note(`${e.slug}: left alone, ${owner}`);
        continue;
      }
      const pids = trialProcesses(trial.dir, e.job?.type === 'local' ? e.job.pid : undefined);
      if (pids.length) {
        orphaned.push({ trial, orphans: pids });
        continue;
      }
      await o.ledger.update((d) => requeue(d, trial.id, 'its sweep process ended while it ran'));
    }
    rest.push({ trial });
  }
  return [...orphaned, ...rest];
}

/** Why a running entry belongs to someone else, or null when this process may take it over. */
export function ownerElsewhere(e: LedgerEntry): string | null {
  const job = e.job;
  if (job?.type === 'slurm')
    return `it is Slurm job ${job.job_id} (run the sweep with the slurm executor to follow it)`;
  if (!job) return null;
  if (job.host !== hostname()) return `it runs on host ${job.host}`;
  if (job.owner_pid !== process.pid && running(job.owner_pid)) return `sweep process ${job.owner_pid} runs it`;
  return null;
}

/** Waits for a killed sweep's trial process to end; false when the sweep was cancelled meanwhile. */
async function awaitOrphans(
  o: LocalRunOptions,
  trial: Trial,
  pids: number[],
  stoppers: Set<() => void>,
): Promise<boolean> {
  o.observer.note(`${trial.slug}: waiting for pid ${pids.join(', ')}, left running by a sweep process that was killed`);
  const stop = () => pids.forEach((p) => signalGroup(p, 'SIGTERM'));
  stoppers.add(stop);
  if (o.cancel.aborted) stop();
  let killAt = Infinity;
  while (pids.some(running)) {
    if (o.cancel.aborted && killAt === Infinity) killAt = Date.now() + o.executor.kill_grace_s * 1000;
    if (Date.now() > killAt) pids.forEach((p) => signalGroup(p, 'SIGKILL'));
    await sleep(200);
  }
  stoppers.delete(stop);
  const cancelled = o.cancel.aborted;
  const entry = await o.ledger.update((d) =>
    cancelled
      ? structuredClone(
          finishAttempt(d, trial.id, {
            state: 'cancelled',
            reason: 'cancelled by the sweep',
            log_tail: logTail(trialFiles(trial.dir).log),
          }),
        )
      : structuredClone(requeue(d, trial.id, 'its sweep process was killed; its process ended unobserved')),
  );
  if (cancelled) o.observer.finished(trial, entry);
  return !cancelled;
}

/** Runs one attempt; the ledger entry it ended with, or undefined when another process had claimed the trial. */
async function runTrial(o: LocalRunOptions, trial: Trial, stoppers: Set<() => void>): Promise<LedgerEntry | undefined> {
  const job: LocalJob = { type: 'local', host: hostname(), owner_pid: process.pid };
  const claimed = await o.ledger.update((d) => {
    const state = d.trials[trial.id]?.state;
    return state === 'done' || state === 'running' ? undefined : structuredClone(startAttempt(d, trial.id, job));
  });
  if (!claimed) return undefined;
  o.observer.started(trial, claimed);
  const argv = o.command(trial);
  const files = trialFiles(trial.dir);
  mkdirSync(trial.dir, { recursive: true });
  // The child writes its log itself, so it keeps logging if this process dies
  const fd = openSync(files.log, 'a');
  writeSync(fd, `=== attempt ${claimed.attempts} on ${job.host} at ${claimed.started_at}: ${argv.join(' ')}\n`);
  let result: ChildEnd;
  let cancelledByUs = false;
  let killTimer: NodeJS.Timeout | undefined;
  try {
    // execa's types list descriptors 3-9 only; at run time any open descriptor goes to the child as it is
    const log = fd as unknown as 3;
    // detached: the trial leads its own process group, so a terminal's Ctrl-C reaches it only through us, once
    const child = execa(argv[0], argv.slice(1), {
      stdin: 'ignore',
      stdout: log,
      stderr: log,
      detached: true,
      cleanup: false,
      reject: false,
      env: o.env,
    });
    const pid = child.pid;
    const stop = () => {
      if (pid === undefined || cancelledByUs) return;
      cancelledByUs = true;
      signalGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), o.executor.kill_grace_s * 1000);
    };
    stoppers.add(stop);
    if (pid !== undefined) await o.ledger.update((d) => void ((d.trials[trial.id].job as LocalJob).pid = pid));
    if (o.cancel.aborted) stop();
    result = await child;
    stoppers.delete(stop);
  } finally {
    clearTimeout(killTimer);
    closeSync(fd);
  }
  const outcome = confirmDone(trial, classify(result, cancelledByUs, files.log));
  const entry = await o.ledger.update((d) => structuredClone(finishAttempt(d, trial.id, outcome)));
  o.observer.finished(trial, entry);
  return entry;
}

interface ChildEnd {
  exitCode?: number;
  signal?: string;
  shortMessage?: string;
}

/** Exit 0 is done, even when a cancel came too late to stop it; exit 130 or SIGINT/SIGTERM is an interruption. */
function classify(r: ChildEnd, cancelledByUs: boolean, log: string): Outcome {
  const codes = { exit_code: r.exitCode, signal: r.signal };
  if (r.exitCode === 0) return { state: 'done', ...codes };
  const log_tail = logTail(log);
  if (cancelledByUs) return { state: 'cancelled', ...codes, reason: 'cancelled by the sweep', log_tail };
  if (r.exitCode === 130 || r.signal === 'SIGINT' || r.signal === 'SIGTERM') {
    return {
      state: 'cancelled',
      ...codes,
      reason: r.signal ? `interrupted by ${r.signal}` : 'interrupted (exit 130)',
      log_tail,
    };
  }
  const reason =
    r.exitCode !== undefined
      ? `exit code ${r.exitCode}`
      : r.signal
        ? `killed by ${r.signal}`
        : (r.shortMessage ?? 'did not start');
  // The kernel's OOM killer or a node's watchdog ends a trial with SIGKILL: the machine failed, not the trial
  return { state: 'failed', ...codes, reason, log_tail, ...(r.signal === 'SIGKILL' ? { infrastructure: true } : {}) };
}
