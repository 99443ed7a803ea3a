/** One `epsilab` subcommand: cli.ts lists them in its table; `usage` is what `--help` prints. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the exit code (see EXIT). Throw ConfigError for a bad config, UsageError for bad arguments. */
  run(argv: string[]): Promise<number>;
}

/** The documented exit codes. */
export const EXIT = { ok: 0, failed: 1, badInput: 2, interrupted: 130 } as const;
