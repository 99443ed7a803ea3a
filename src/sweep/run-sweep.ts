import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { lockFolder, type FolderLockKind } from '../run/lock.js';
import { UsageError } from '../util/errors.js';
import { projectRoot } from '../util/paths.js';
import { addTrials, countStates, Ledger, willRetry, type LedgerEntry, type TrialState } from './ledger.js';
import { sharedCoresEnv } from '../backends/threads.js';
import { runAsha } from './asha.js';
import type { Executor, SweepLaunch } from './executor.js';
import { localExecutor } from './local-executor.js';
import { progressDisplay } from './progress.js';
import { resolveSweep, type ResolvedSweep } from './resolve.js';
import { slurmExecutor } from './slurm-executor.js';
import type { SweepExecutor } from './sweep-file.js';
import { withHParams, writeSweepExperiment } from './sweep-hparams.js';
import { trialFiles, type SweepObserver, type Trial, type TrialCommand } from './trial.js';

export interface SweepRunOptions {
  file: string;
  /** The command line of a trial; by default `epsilab run` of the base config with the trial's overrides. */
  command?: TrialCommand;
  /** Environment of the trials and of the Slurm commands (SLURM_CONF for a local cluster). */
  env?: NodeJS.ProcessEnv;
  /** Slurm only: false returns once the trials are submitted. */
  wait?: boolean;
  /** Aborting cancels the sweep: running trials are stopped (they checkpoint) and recorded cancelled. */
  cancel?: AbortSignal;
  /** Where trial events go; by default one progress display on stderr. */
  observer?: SweepObserver & { stop?(): void };
}

export interface SweepSummary {
  dir: string;
  ledger: string;
  /** The sweep's trials as the ledger holds them now, in the sweep file's order. */
  entries: LedgerEntry[];
  counts: Record<TrialState, number>;
}

/**
 * `epsilab run <base> --set ... --run-dir <trial folder>` with this Node: the base config from where it lives, so
 * paths in it (datasets, plugins) mean what they mean there.
 */
export function defaultCommand(trial: Trial): string[] {
  return [
    process.execPath,
    join(projectRoot(), 'bin', 'epsilab.js'),
    'run',
    trial.base,
    ...trial.sets.flatMap((s) => ['--set', s]),
    '--run-dir',
    trial.dir,
    ...(trial.extend ? ['--extend'] : []),
  ];
}

/** Writes each trial's folder and config and brings the ledger up to date with the sweep file (new trials pending). */
export async function prepareSweep(resolved: ResolvedSweep): Promise<Ledger> {
  const { dir, trials, texts, source } = resolved;
  mkdirSync(dir, { recursive: true });
  for (const t of trials) writeFileAtomic(trialFiles(t.dir).config, texts.get(t.id)!);
  const ledger = new Ledger(join(dir, 'ledger.json'), source.spec.sweep);
  await ledger.update((d) =>
    addTrials(
      d,
      trials.map((t) => ({ id: t.id, slug: t.slug, dir: t.id })),
    ),
  );
  writeSweepExperiment(dir, trials, source.spec.metrics);
  return ledger;
}

export function summarize(ledger: Ledger, trials: Trial[]): SweepSummary {
  const data = ledger.read();
  const entries = trials.map((t) => data.trials[t.id]);
  return { dir: dirname(ledger.file), ledger: ledger.file, entries, counts: countStates(entries) };
}

/** A sweep folder's lock: the process running a sweep launches, follows and requeues its trials alone. */
const SWEEP_FOLDER: FolderLockKind = { file: 'sweep.lock', exclusive: 'run a sweep', canWait: false };

/**
 * Runs a sweep to completion: resolves and validates every trial first, then runs those not done with the
 * sweep's executor. Running it again resumes: finished trials (same resolved config, same id) are not run again.
 * A second process running the same sweep is refused while the first lives (InputError naming it).
 */
export async function runSweep(o: SweepRunOptions): Promise<SweepSummary> {
  const resolved = await resolveSweep(o.file);
  if (resolved.source.spec.asha && o.wait === false)
    throw new UsageError(
      'an asha sweep decides each next job as the last one ends, so the sweep process must follow them: run it without --no-wait',
    );
  const lock = await lockFolder(resolved.dir, SWEEP_FOLDER, { purpose: 'sweep' });
  try {
    return await runLocked(o, resolved);
  } finally {
    lock.release();
  }
}

async function runLocked(o: SweepRunOptions, resolved: ResolvedSweep): Promise<SweepSummary> {
  const ledger = await prepareSweep(resolved);
  const { trials, dir, source } = resolved;
  const before = summarize(ledger, trials);
  // Under ASHA a done trial may still be promoted
  if (before.counts.done === trials.length && !source.spec.asha) return before;
  const display = o.observer ?? progressDisplay(trials.length, before.counts.done);
  const stopping = new AbortController();
  const cancel = o.cancel ? AbortSignal.any([o.cancel, stopping.signal]) : stopping.signal;
  const observer = withHParams(source.spec.fail_fast ? failFast(display, source.spec.retries, stopping) : display);
  try {
    const launch: SweepLaunch = {
      sweep: source.spec.sweep,
      sweepDir: dir,
      trials,
      ledger,
      observer,
      command: o.command ?? defaultCommand,
      cancel,
      env: o.env,
      wait: o.wait ?? true,
      retries: source.spec.retries,
    };
    const executor = executorFor(source.spec.executor);
    const x = source.spec.executor;
    if (source.spec.asha) {
      const parallel = x.type === 'local' ? x.max_parallel : (x.array_limit ?? trials.length);
      // ASHA launches one rung job at a time: local ones must still share the cores as max_parallel trials do
      const env = x.type === 'local' ? { ...launch.env, ...sharedCoresEnv(parallel) } : launch.env;
      await runAsha({ ...launch, env }, source.spec.asha, executor, parallel);
    } else await executor.launch(launch);
  } finally {
    display.stop?.();
  }
  return summarize(ledger, trials);
}

/** fail_fast: the first trial that fails for good (no retry left) cancels the rest of the sweep. */
function failFast(inner: SweepObserver, retries: number, stopping: AbortController): SweepObserver {
  return {
    ...inner,
    finished: (t, e) => {
      inner.finished(t, e);
      if (e.state !== 'failed' || willRetry(e, retries) || stopping.signal.aborted) return;
      inner.note(`fail_fast: ${t.slug} failed (${e.reason ?? 'no reason'}); cancelling the rest of the sweep`);
      stopping.abort();
    },
  };
}

/** The executor a sweep file's `executor` section names. */
export function executorFor(spec: SweepExecutor): Executor {
  return spec.type === 'local' ? localExecutor(spec) : slurmExecutor(spec);
}
