import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDiagnostics } from '../util/diagnostics.js';
import { didYouMean } from '../registry/suggest.js';
import { projectRoot } from '../util/paths.js';
import { ConfigError, EpsilabError, UsageError, UserError } from '../util/errors.js';
import { EXIT, type Command } from './command.js';
import { benchDataCommand } from './commands/bench-data.js';
import { compressCommand } from './commands/compress.js';
import { doctorCommand } from './commands/doctor.js';
import { evalCommand } from './commands/eval.js';
import { exportCommand } from './commands/export.js';
import { initCommand } from './commands/init.js';
import { listCommand } from './commands/list.js';
import { planCommand } from './commands/plan.js';
import { printConfigCommand } from './commands/print-config.js';
import { reproCommand } from './commands/repro.js';
import { resumeCommand } from './commands/resume.js';
import { runCommand } from './commands/run.js';
import { plotCommand } from './commands/plot.js';
import { schemasCommand } from './commands/schemas.js';
import { sweepCommand } from './commands/sweep.js';
import { tableCommand } from './commands/table.js';
import { validateCommand } from './commands/validate.js';

/** Every command, in the order `--help` lists them. A new command is one import and one entry here. */
const COMMANDS: Command[] = [
  initCommand,
  runCommand,
  resumeCommand,
  compressCommand,
  evalCommand,
  exportCommand,
  reproCommand,
  validateCommand,
  printConfigCommand,
  planCommand,
  sweepCommand,
  listCommand,
  tableCommand,
  plotCommand,
  benchDataCommand,
  schemasCommand,
  doctorCommand,
];

const EXIT_CODES = `Exit codes: ${EXIT.ok} ok, ${EXIT.failed} run failed, ${EXIT.badInput} bad input or usage, ${EXIT.interrupted} interrupted.`;

function topUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'epsilab: deep-learning experiments declared in YAML (ε-ResNet, ResNet with No Res) on TensorFlow.js',
    '',
    'Usage: epsilab <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'epsilab <command> --help' for a command's options.",
    EXIT_CODES,
    'Set EPSILAB_DEBUG=1 to see the stack of an internal error.',
  ].join('\n');
}

/** `--help`/`-h` anywhere before a `--`. */
function wantsHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' && rest[0] ? rest[0] : undefined;
    if (!target) {
      console.log(topUsage());
      return name === undefined ? EXIT.badInput : EXIT.ok;
    }
    return main([target, '--help']);
  }
  if (name === '--version' || name === '-V') {
    console.log((JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(
      `epsilab: unknown command '${name}'${didYouMean(
        name,
        COMMANDS.map((c) => c.name),
      )}\nRun 'epsilab --help' for the list of commands.`,
    );
    return EXIT.badInput;
  }
  if (wantsHelp(rest)) {
    console.log(`${command.summary}\n\nUsage: ${command.usage}`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    return report(command.name, e);
  }
}

/** A file system refusal of a path the user gave (or one inside it): the user's to fix, in words that say how. */
const PATH_MISTAKES: Record<string, string> = {
  ENOENT: 'no such file or folder (a dangling symbolic link, or a name that does not exist)',
  ENOTDIR: 'a part of this path is a file, not a folder: choose another path',
  EISDIR: 'is a folder where a file was expected',
  EEXIST: 'already exists and is not a folder: choose another path',
  EACCES: 'permission denied: choose a path you may write, or change its permissions',
  EPERM: 'operation not permitted: choose another path',
  EROFS: 'read-only file system: choose a path on a writable disk',
  ELOOP: 'too many levels of symbolic links (a link that points back at itself?): fix or remove the link',
  ENAMETOOLONG: 'the name is too long',
  ENXIO: 'no such device (a socket or FIFO without a reader?): give a regular file',
  ENODEV: 'no such device: give a regular file or folder',
};

/**
 * What escaped a command, told the user: a user's mistake (UserError: a config's diagnostics, wrong arguments, a file
 * for another command) exits 2 with its message and no stack; an expected failure (EpsilabError) exits 1 with its
 * message; a file system refusal of a path (missing, not a folder, no permission) exits 2 naming the path; anything
 * else is our bug, one line (or the stack with EPSILAB_DEBUG=1), exit 1.
 */
function report(name: string, e: unknown): number {
  if (e instanceof ConfigError) {
    console.error(formatDiagnostics(e.diagnostics));
    return e.exitCode;
  }
  const code = (e as { code?: unknown }).code;
  if (e instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
    console.error(`epsilab ${name}: ${(e as Error).message}\nRun 'epsilab ${name} --help' for usage.`);
    return EXIT.badInput;
  }
  if ((code === 'ENOSPC' || code === 'EDQUOT') && !process.env.EPSILAB_DEBUG) {
    console.error(
      `epsilab ${name}: ${(e as Error).message}: the disk is full. Free some space, then run the same command again: it continues from the last intact checkpoint`,
    );
    return EXIT.failed;
  }
  if (e instanceof UserError || (e instanceof EpsilabError && !process.env.EPSILAB_DEBUG)) {
    console.error(`epsilab ${name}: ${e.message}`);
    return e.exitCode;
  }
  const mistake = typeof code === 'string' ? PATH_MISTAKES[code] : undefined;
  const path = (e as NodeJS.ErrnoException).path;
  if (mistake && path !== undefined && !process.env.EPSILAB_DEBUG) {
    console.error(`epsilab ${name}: ${path}: ${mistake}`);
    return EXIT.badInput;
  }
  if (process.env.EPSILAB_DEBUG) console.error((e as Error).stack ?? String(e));
  else
    console.error(
      `epsilab ${name}: ${String((e as Error).message ?? e).split('\n')[0]} (internal error; rerun with EPSILAB_DEBUG=1 for the stack)`,
    );
  return EXIT.failed;
}

/**
 * SIGINT/SIGTERM end any command as `run` ends: exit 130, and the exit releases the run folder locks taken (their
 * exit hooks); outputs are written atomically, so none is left half-written. A command with its own handler (run
 * checkpoints first) gets the signal alone.
 */
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (process.listenerCount(signal) > 1) return;
    console.error(`epsilab: ${signal}: stopped`);
    process.exit(EXIT.interrupted);
  });

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(EXIT.ok);
});
process.exitCode = await main(process.argv.slice(2));
