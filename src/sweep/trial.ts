import { join } from 'node:path';
import { runId } from '../run/run-id.js';
import { isRunFolder, readRunConfig } from '../run/run-folder.js';
import type { HParamValue } from '../tensorboard/hparams.js';
import type { LedgerEntry, Outcome } from './ledger.js';

export type { HParamValue };

/** One trial: the base config with a sweep's overrides and seed, resolved and validated. */
export interface Trial {
  /** Derived from the resolved config (seed included): the same config always maps to the same trial. */
  id: string;
  /** Its overrides in words: `model.epsilon=2.5,seed=1`. */
  slug: string;
  /** The slug without the seed: trials that differ only in seed are repeats of one configuration. */
  group: string;
  /** Config path -> value, as the sweep file lists them (no seed). */
  hparams: Record<string, HParamValue>;
  seed: number;
  /** The base config file (absolute) and the `--set` overrides that make the trial's config from it. */
  base: string;
  sets: string[];
  /** The resolved experiment config the trial runs. */
  config: Record<string, unknown>;
  /** Absolute path of its folder: the run dir `epsilab run` is given. */
  dir: string;
  /** Continue the folder's run to this config's longer train.epochs (`--extend`): an ASHA promotion. */
  extend?: boolean;
}

/** The files of a trial's folder the sweep writes (the run writes the rest). */
export function trialFiles(dir: string): { config: string; log: string } {
  return { config: join(dir, 'trial.yaml'), log: join(dir, 'trial.log') };
}

/**
 * A done outcome stays done only when the run trained the planned config (checked when the run recorded its
 * config.json): if the base config changed between planning and running, the folder holds another config's results.
 */
export function confirmDone(trial: Trial, outcome: Outcome): Outcome {
  if (outcome.state !== 'done' || !isRunFolder(trial.dir)) return outcome;
  const ran = runId(readRunConfig(trial.dir));
  // An ASHA rung plans the trial's config at the rung's train.epochs
  const planned = runId(trial.config);
  if (ran === planned) return outcome;
  return {
    ...outcome,
    state: 'failed',
    reason: `the run trained config ${ran}, not the planned ${planned}: the base config changed after the sweep was planned`,
  };
}

/** What an executor reports as trials start and end: the progress display and the HParams records follow it. */
export interface SweepObserver {
  started(trial: Trial, entry: LedgerEntry): void;
  finished(trial: Trial, entry: LedgerEntry): void;
  /** A line for the user that is not about one trial's state. */
  note(line: string): void;
}

/** The command line that runs one trial, as an argument array (never a shell string). */
export type TrialCommand = (trial: Trial) => string[];
