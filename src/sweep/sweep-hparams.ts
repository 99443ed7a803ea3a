import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  writeExperiment,
  writeSessionEnd,
  writeSessionStart,
  type HParamSpec,
  type SessionStatus,
} from '../tensorboard/hparams.js';
import { SummaryWriter } from '../tensorboard/writer.js';
import type { LedgerEntry } from './ledger.js';
import type { SweepObserver, Trial } from './trial.js';

/** Names the one event file of HParams records the sweep keeps in a trial's folder (the run writes its own beside it). */
const SESSION_NOTE = '.hparams-session';

/** The HParams table's columns: each varied config path with the values the sweep gives it. */
export function hparamSpecs(trials: Trial[]): HParamSpec[] {
  const values = new Map<string, Set<number | string | boolean>>();
  for (const t of trials)
    for (const [k, v] of Object.entries(t.hparams)) (values.get(k) ?? values.set(k, new Set()).get(k)!).add(v);
  return [...values].map(([name, set]) => {
    const list = [...set];
    const type = list.every((v) => typeof v === 'number')
      ? 'number'
      : list.every((v) => typeof v === 'boolean')
        ? 'boolean'
        : 'string';
    const domain =
      type === 'string' ? list.map(String) : type === 'number' ? (list as number[]).sort((a, b) => a - b) : list;
    return { name, type, domain };
  });
}

/**
 * The experiment summary in the sweep's folder, replacing an earlier one (TensorBoard reads the first record of a
 * tag per folder, so a stale one would hide trials added since).
 */
export function writeSweepExperiment(sweepDir: string, trials: Trial[], metrics: string[]): void {
  for (const f of existsSync(sweepDir) ? readdirSync(sweepDir) : [])
    if (f.includes('tfevents')) rmSync(join(sweepDir, f));
  writeExperiment(sweepDir, { hparams: hparamSpecs(trials), metrics: metrics.map((tag) => ({ tag })) });
}

const STATUS: Record<LedgerEntry['state'], SessionStatus> = {
  pending: 'running',
  running: 'running',
  done: 'success',
  failed: 'failure',
  cancelled: 'failure',
};

/** Rewrites the trial's session records (start, and end once it has an outcome) as one event file of its own. */
export function writeTrialSession(trial: Trial, entry: LedgerEntry): void {
  const note = join(trial.dir, SESSION_NOTE);
  const previous = existsSync(note) ? readFileSync(note, 'utf8').trim() : '';
  const writer = new SummaryWriter(trial.dir);
  const first = entry.history[0]?.started_at ?? entry.started_at;
  writeSessionStart(writer, {
    hparams: trial.hparams,
    group: trial.group,
    ...(first ? { startTime: new Date(first) } : {}),
  });
  if (entry.state !== 'running' && entry.state !== 'pending')
    writeSessionEnd(writer, {
      status: STATUS[entry.state],
      ...(entry.ended_at ? { endTime: new Date(entry.ended_at) } : {}),
    });
  writer.close();
  writeFileSync(note, writer.file.slice(trial.dir.length + 1) + '\n');
  if (previous && join(trial.dir, previous) !== writer.file) rmSync(join(trial.dir, previous), { force: true });
}

/** Passes trial events on to `inner` and keeps each trial's HParams session up to date. */
export function withHParams(inner: SweepObserver): SweepObserver {
  // TensorBoard records are a view of the ledger: failing to write one must not stop the trials
  const session = (t: Trial, e: LedgerEntry) => {
    try {
      writeTrialSession(t, e);
    } catch (err) {
      inner.note(`${t.slug}: HParams records not written: ${(err as Error).message}`);
    }
  };
  return {
    started: (t, e) => (session(t, e), inner.started(t, e)),
    finished: (t, e) => (session(t, e), inner.finished(t, e)),
    note: (line) => inner.note(line),
  };
}
