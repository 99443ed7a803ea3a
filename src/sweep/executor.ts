import type { Ledger } from './ledger.js';
import type { SweepObserver, Trial, TrialCommand } from './trial.js';

/** What the sweep runner hands an executor: the sweep's trials, its ledger, and how to run and report one trial. */
export interface SweepLaunch {
  /** The sweep's name and its folder (trial folders and the ledger live under it). */
  sweep: string;
  sweepDir: string;
  /** Trials of the sweep; those the ledger records done are skipped. */
  trials: Trial[];
  ledger: Ledger;
  command: TrialCommand;
  observer: SweepObserver;
  /** Aborting cancels: running trials are stopped (they checkpoint) and recorded cancelled; nothing new starts. */
  cancel: AbortSignal;
  /** Environment of the trials (and of the Slurm commands: SLURM_CONF for a local cluster). */
  env?: NodeJS.ProcessEnv;
  /** Attempts after the first for a trial that fails for an infrastructure reason. */
  retries: number;
  /** false: an executor with its own queue (Slurm) returns once the trials are queued; running the sweep again follows them. */
  wait: boolean;
}

/**
 * Where a sweep's trials run (each a `epsilab run` process). `launch` first takes over what an earlier sweep process
 * left running, then runs every trial not done and records each attempt and outcome in the ledger.
 */
export interface Executor {
  readonly type: string;
  launch(o: SweepLaunch): Promise<void>;
}
