import { existsSync, readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../util/atomic.js';
import { withFileLock } from './file-lock.js';

export type TrialState = 'pending' | 'running' | 'done' | 'failed' | 'cancelled';

/** A trial running as a child process of a sweep process on `host`. */
export interface LocalJob {
  type: 'local';
  host: string;
  /** The sweep process that started it: while it lives, no other sweep process touches the trial. */
  owner_pid: number;
  pid?: number;
}

/** A trial submitted to Slurm; `job_id` is `<array>_<task>` for array tasks, '' while sbatch has not answered. */
export interface SlurmJob {
  type: 'slurm';
  job_id: string;
  /** The submission's task file: finds the job again when the sweep process died before recording its id. */
  tasks_file: string;
  array_job_id: string;
  array_task_id?: number;
  /** The last Slurm state seen (PENDING, RUNNING, ...). */
  slurm_state: string;
}

export interface Outcome {
  state: 'done' | 'failed' | 'cancelled';
  exit_code?: number;
  signal?: string;
  /** Why, in words: a Slurm state and reason, a signal, "cancelled by the sweep". */
  reason?: string;
  /** The end of the trial's log, kept for failures and cancellations. */
  log_tail?: string;
  /** A failure of the machine, not of the trial (NODE_FAIL, OUT_OF_MEMORY, BOOT_FAIL, SIGKILL): `retries` may run it again. */
  infrastructure?: boolean;
}

/** One finished attempt, kept so a retry does not erase what happened before. */
export interface AttemptRecord extends Omit<Outcome, 'log_tail'> {
  attempt: number;
  started_at?: string;
  ended_at: string;
  job?: LocalJob | SlurmJob;
}

/** A Slurm job that went back to the queue to resume from its checkpoint: a time limit, a preemption. */
export interface RequeueRecord {
  at: string;
  /** The attempt it belongs to (a requeue continues an attempt; a retry starts a new one). */
  attempt: number;
  job_id: string;
  reason: string;
  /** Who asked Slurm: the job itself, the sweep process (scontrol missing where the job ran), or Slurm. */
  by: 'job' | 'sweep' | 'slurm';
}

/** A promotion or a stop of successive halving, with the rank that decided it. */
export interface AshaDecision {
  at: string;
  /** The rung whose results decided it. */
  rung: number;
  decision: 'promoted' | 'stopped';
  /** The trial's metric at that rung, and its place among the rung's results then (1 is best) out of how many. */
  value: number;
  rank: number;
  of: number;
}

/** Where an ASHA trial stands: the rung it trains (or trained) last, each finished rung's metric, the decisions. */
export interface AshaState {
  rung: number;
  /** Rung index -> the metric its run reported at the end of that rung. */
  results: Record<string, number>;
  decisions: AshaDecision[];
}

export interface LedgerEntry extends Omit<Outcome, 'state'> {
  id: string;
  /** Readable form of the trial's overrides, e.g. `model.epsilon=2.5,seed=1`. */
  slug: string;
  /** The trial's folder (its run dir), relative to the sweep folder. */
  dir: string;
  state: TrialState;
  attempts: number;
  created_at: string;
  started_at?: string;
  ended_at?: string;
  job?: LocalJob | SlurmJob;
  history: AttemptRecord[];
  /** Every requeue of every attempt, oldest first (absent in ledgers written before requeues existed). */
  requeues?: RequeueRecord[];
  /** Successive halving's record of the trial, in an ASHA sweep once the trial has started. */
  asha?: AshaState;
}

export interface LedgerData {
  version: 1;
  sweep: string;
  updated_at: string;
  trials: Record<string, LedgerEntry>;
}

const OUTCOME_FIELDS = ['exit_code', 'signal', 'reason', 'log_tail', 'infrastructure'] as const;

function now(): string {
  return new Date().toISOString();
}

/**
 * The sweep's `ledger.json`: every trial's state. Each change is a locked read-modify-write of the whole file,
 * written to a temporary name and renamed, so readers never see a torn file and concurrent writers never lose
 * each other's changes.
 */
export class Ledger {
  constructor(
    readonly file: string,
    readonly sweep: string,
  ) {}

  read(): LedgerData {
    if (!existsSync(this.file)) return { version: 1, sweep: this.sweep, updated_at: now(), trials: {} };
    const data = JSON.parse(readFileSync(this.file, 'utf8')) as LedgerData;
    if (data.version !== 1) throw new Error(`${this.file}: ledger version ${String(data.version)} is not supported`);
    return data;
  }

  async update<T>(change: (data: LedgerData) => T): Promise<T> {
    return withFileLock(this.file, () => {
      const data = this.read();
      const out = change(data);
      data.updated_at = now();
      writeJsonAtomic(this.file, data);
      return out;
    });
  }
}

/** Adds trials the ledger has not seen as pending; known ones keep their state (their id is their content). */
export function addTrials(data: LedgerData, trials: { id: string; slug: string; dir: string }[]): void {
  for (const t of trials) {
    const known = data.trials[t.id];
    if (known) known.slug = t.slug;
    else
      data.trials[t.id] = {
        id: t.id,
        slug: t.slug,
        dir: t.dir,
        state: 'pending',
        attempts: 0,
        created_at: now(),
        history: [],
      };
  }
}

function entry(data: LedgerData, id: string): LedgerEntry {
  const e = data.trials[id];
  if (!e) throw new Error(`trial ${id} is not in the ledger`);
  return e;
}

/** pending, failed or cancelled -> running: a new attempt begins. A finished trial never runs again. */
export function startAttempt(data: LedgerData, id: string, job: LocalJob | SlurmJob): LedgerEntry {
  const e = entry(data, id);
  if (e.state === 'done' || e.state === 'running')
    throw new Error(`trial ${e.slug} is ${e.state}; it cannot start again`);
  e.state = 'running';
  e.attempts += 1;
  e.started_at = now();
  e.job = job;
  delete e.ended_at;
  for (const f of OUTCOME_FIELDS) delete e[f];
  return e;
}

/** running -> done | failed | cancelled, keeping the attempt in the history. */
export function finishAttempt(data: LedgerData, id: string, outcome: Outcome): LedgerEntry {
  const e = entry(data, id);
  if (e.state !== 'running') throw new Error(`trial ${e.slug} is ${e.state}, not running; it cannot finish`);
  const ended = now();
  e.state = outcome.state;
  e.ended_at = ended;
  for (const f of OUTCOME_FIELDS)
    if (outcome[f] !== undefined) (e as unknown as Record<string, unknown>)[f] = outcome[f];
  const { log_tail: _tail, ...record } = outcome;
  e.history.push({ attempt: e.attempts, started_at: e.started_at, ended_at: ended, job: e.job, ...record });
  return e;
}

/** running -> pending: the attempt's process is gone without an outcome (its sweep process was killed). */
export function requeue(data: LedgerData, id: string, reason: string): LedgerEntry {
  const e = entry(data, id);
  if (e.state !== 'running') throw new Error(`trial ${e.slug} is ${e.state}, not running; it cannot be re-queued`);
  e.history.push({
    attempt: e.attempts,
    started_at: e.started_at,
    ended_at: now(),
    job: e.job,
    state: 'cancelled',
    reason,
  });
  e.state = 'pending';
  delete e.job;
  return e;
}

/** Records a requeue of the trial's running attempt; returns how many requeues its current job has had. */
export function recordRequeue(data: LedgerData, id: string, r: Omit<RequeueRecord, 'at' | 'attempt'>): number {
  const e = entry(data, id);
  (e.requeues ??= []).push({ at: now(), attempt: e.attempts, ...r });
  return requeuesOf(e, r.job_id);
}

/** Requeues recorded for one Slurm job of the trial. */
export function requeuesOf(e: LedgerEntry, jobId: string): number {
  return (e.requeues ?? []).filter((r) => r.job_id === jobId && r.attempt === e.attempts).length;
}

/** A failed attempt that `retries` runs again: an infrastructure failure with attempts left. */
export function willRetry(e: LedgerEntry, retries: number): boolean {
  return e.state === 'failed' && e.infrastructure === true && e.attempts <= retries;
}

export function countStates(entries: LedgerEntry[]): Record<TrialState, number> {
  const counts: Record<TrialState, number> = { pending: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
  for (const e of entries) counts[e.state] += 1;
  return counts;
}
