import type { Diagnostic } from './diagnostics.js';

/**
 * An expected failure whose message is complete: the CLI prints it as is, without a stack trace, and exits with
 * `exitCode`. Anything else that escapes a command is an internal error (our bug), printed as such with exit 1.
 */
export class EpsilabError extends Error {
  override name = 'EpsilabError';
  /** A failure of the run itself (a corrupt download, a checkpoint that cannot be read) exits 1 like a failed run. */
  readonly exitCode: number = 1;
}

/**
 * A user's mistake (a bad config, a file given to the wrong command, a missing dataset, an unavailable backend):
 * the message says what is wrong and what to do instead; exit 2.
 */
export class UserError extends EpsilabError {
  override name = 'UserError';
  override readonly exitCode: number = 2;
}

/** Wrong arguments: printed with a pointer to `--help`. */
export class UsageError extends UserError {
  override name = 'UsageError';
}

/** The user asked for something this machine does not have (a backend, a GPU): the message says what to do instead. */
export class UnavailableError extends UserError {
  override name = 'UnavailableError';
}

/** Mistakes in a config (or another YAML file): carries every diagnostic found, printed compiler style. */
export class ConfigError extends UserError {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => d.message).join('; '));
    this.name = 'ConfigError';
  }
}

/**
 * Input that is unusable as given (a damaged data file, a busy or damaged run folder): the message names the file,
 * what was expected and what was found, and what to do.
 */
export class InputError extends UserError {
  override name = 'InputError';
}

/**
 * A data-parallel rendezvous that could not form (a port in use, a rank that never came) or a collective that failed or
 * timed out (a rank died or hangs): the message names the collective and the ranks; exit 1 like a failed run.
 */
export class CollectiveError extends EpsilabError {
  override name = 'CollectiveError';
}
