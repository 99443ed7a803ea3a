import { readResult } from '../run/run-folder.js';
import type { Executor, SweepLaunch } from './executor.js';
import type { AshaState, LedgerData, LedgerEntry } from './ledger.js';
import type { Asha } from './sweep-file.js';
import type { Trial } from './trial.js';

/**
 * Asynchronous successive halving (Li et al., "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020,
 * Algorithm 2): whenever a slot is free, promote the best trial of the highest rung that has one in its top 1/η not
 * promoted yet, else start the next trial at the bottom rung. A promotion continues the trial's run folder to the
 * next rung's epochs (`epsilab run --extend`), so no epoch is trained twice. Each decision is written to the ledger
 * before its job starts, so a sweep process killed at any point resumes with the decisions it had made.
 */

/** Epochs of each rung: min_epochs·η^k below max_epochs, then max_epochs. */
export function rungEpochs(a: Asha): number[] {
  const rungs: number[] = [];
  for (let e = a.min_epochs; e < a.max_epochs; e *= a.reduction_factor) rungs.push(e);
  return [...rungs, a.max_epochs];
}

/** The trial as one rung's job: its config at the rung's epochs, continuing the folder's run past the first rung. */
export function rungTrial(trial: Trial, epochs: number, rung: number): Trial {
  return {
    ...trial,
    sets: trial.sets.map((s) => (s.startsWith('train.epochs=') ? `train.epochs=${epochs}` : s)),
    config: { ...trial.config, train: { ...(trial.config.train as object), epochs } },
    ...(rung > 0 ? { extend: true } : {}),
  };
}

/** Why rung results of this config are not comparable with a full run's, or null. */
export function unfairSchedule(trial: Trial): string | null {
  const schedule = trial.config.schedule as { type?: string; epochs?: number } | undefined;
  if (schedule?.type === 'cosine' && schedule.epochs === undefined)
    return "its cosine schedule spans train.epochs, which ASHA sets to each rung's epochs: a rung trains another learning-rate curve than the full run, and a promotion changes the curve mid-run; set schedule.epochs to max_epochs";
  return null;
}

type Job = { trial: Trial; rung: number };

const better = (mode: Asha['mode']) => (x: number, y: number) => (mode === 'min' ? x - y : y - x);

/** The trials with a result at `rung`, best first (ties by sweep order), with their values. */
function ranked(data: LedgerData, trials: Trial[], rung: number, mode: Asha['mode']) {
  return trials
    .map((t, order) => ({ t, order, e: data.trials[t.id], value: data.trials[t.id]?.asha?.results[rung] }))
    .filter((r): r is typeof r & { e: LedgerEntry; value: number } => r.value !== undefined)
    .sort((x, y) => better(mode)(x.value, y.value) || x.order - y.order);
}

/**
 * The next job, recorded in the ledger: a trial whose rung job has not ended (taken over after a killed sweep
 * process), else a promotion, else the next new trial; undefined when there is none now.
 */
export function nextJob(data: LedgerData, trials: Trial[], a: Asha, busy: Set<string>): Job | undefined {
  const rungs = rungEpochs(a);
  const free = trials.filter((t) => !busy.has(t.id));
  const unfinished = free.find((t) => {
    const e = data.trials[t.id];
    return e?.asha && e.asha.results[e.asha.rung] === undefined;
  });
  if (unfinished) return { trial: unfinished, rung: data.trials[unfinished.id].asha!.rung };
  for (let k = rungs.length - 2; k >= 0; k--) {
    const rows = ranked(data, trials, k, a.mode);
    const top = rows.slice(0, Math.floor(rows.length / a.reduction_factor));
    const pick = top.findIndex((r) => r.e.asha!.rung === k && r.e.state === 'done' && !busy.has(r.t.id));
    if (pick < 0) continue;
    const { t, e, value } = top[pick];
    const asha = e.asha!;
    asha.decisions.push({
      at: new Date().toISOString(),
      rung: k,
      decision: 'promoted',
      value,
      rank: pick + 1,
      of: rows.length,
    });
    asha.rung = k + 1;
    e.state = 'pending';
    return { trial: t, rung: k + 1 };
  }
  const fresh = free.find((t) => data.trials[t.id] && !data.trials[t.id].asha && data.trials[t.id].state !== 'done');
  if (!fresh) return undefined;
  data.trials[fresh.id].asha = { rung: 0, results: {}, decisions: [] } satisfies AshaState;
  return { trial: fresh, rung: 0 };
}

/** Once no job is left: every trial that ended below the last rung is recorded stopped, with its final rank. */
export function recordStops(data: LedgerData, trials: Trial[], a: Asha): void {
  const last = rungEpochs(a).length - 1;
  for (let k = 0; k < last; k++) {
    const rows = ranked(data, trials, k, a.mode);
    rows.forEach(({ e, value }, i) => {
      const asha = e.asha!;
      if (asha.rung !== k || asha.decisions.some((d) => d.decision === 'stopped')) return;
      asha.decisions.push({
        at: new Date().toISOString(),
        rung: k,
        decision: 'stopped',
        value,
        rank: i + 1,
        of: rows.length,
      });
    });
  }
}

/** Runs the sweep's trials under successive halving, `parallel` rung jobs at a time through `executor`. */
export async function runAsha(o: SweepLaunch, a: Asha, executor: Executor, parallel: number): Promise<void> {
  const rungs = rungEpochs(a);
  for (const t of o.trials.slice(0, 1)) {
    const unfair = unfairSchedule(t);
    if (unfair) o.observer.note(`warning: asha: ${unfair}`);
  }
  const busy = new Set<string>();
  // A trial that failed is run again by the next sweep process, as in any sweep, not over and over by this one
  const failed = new Set<string>();
  // Workers with nothing to start wait for a job to end: its result may promote a trial
  let waiting: (() => void)[] = [];
  const wake = () => {
    const now = waiting;
    waiting = [];
    now.forEach((r) => r());
  };
  const worker = async (): Promise<void> => {
    while (!o.cancel.aborted) {
      const job = await o.ledger.update((d) => nextJob(d, o.trials, a, new Set([...busy, ...failed])));
      if (!job) {
        if (!busy.size) return;
        await new Promise<void>((r) => waiting.push(r));
        continue;
      }
      busy.add(job.trial.id);
      try {
        await executor.launch({ ...o, trials: [rungTrial(job.trial, rungs[job.rung], job.rung)] });
        const state = await o.ledger.update((d) => recordResult(d, job, a, o.observer.note));
        if (state === 'failed') failed.add(job.trial.id);
      } finally {
        busy.delete(job.trial.id);
        wake();
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  if (!o.cancel.aborted) await o.ledger.update((d) => recordStops(d, o.trials, a));
}

/** The rung job's metric into the trial's record, when its run ended done. */
function recordResult(data: LedgerData, job: Job, a: Asha, note: (line: string) => void): LedgerEntry['state'] {
  const e = data.trials[job.trial.id];
  if (e.state !== 'done') return e.state;
  const value = readResult(job.trial.dir)?.metrics[a.metric];
  if (typeof value !== 'number') {
    e.state = 'failed';
    e.reason = `asha: the run's result.json has no metric '${a.metric}'`;
    note(`${e.slug}: ${e.reason}`);
    return e.state;
  }
  e.asha!.results[job.rung] = value;
  return e.state;
}
