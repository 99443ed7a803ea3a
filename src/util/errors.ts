/** A failure whose message is complete advice for the user (a missing dataset): printed as is, never as an internal error. */
export class EpsilabError extends Error {
  override name = 'EpsilabError';
}

/** Wrong arguments: printed with a pointer to `--help`, exit 2, no stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The user asked for something this machine does not have (a backend, a GPU): printed as is, exit 2 like other bad input. */
export class UnavailableError extends EpsilabError {
  override name = 'UnavailableError';
}
