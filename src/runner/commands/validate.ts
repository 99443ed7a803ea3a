import { parseArgs } from 'node:util';
import { loadExperiment } from '../../config/load.js';
import { resolveSweep } from '../../sweep/resolve.js';
import { loadTableSpec } from '../../tables/spec.js';
import { formatDiagnostics } from '../../util/diagnostics.js';
import { EXIT, type Command } from '../command.js';
import { kindOf, topKeys, type FileKind as Kind } from '../file-kind.js';
import { ConfigError, UsageError } from '../../util/errors.js';

/** A kind of YAML file `validate` knows; the one whose `matches` says yes validates the file (throwing ConfigError). */
export interface FileKind {
  name: Kind;
  matches(file: string, topKeys: string[]): boolean;
  validate(file: string, sets: string[]): Promise<void>;
}

const kind = (name: Kind, validate: FileKind['validate']): FileKind => ({
  name,
  matches: (file, keys) => kindOf(file, keys) === name,
  validate,
});

export const FILE_KINDS: FileKind[] = [
  kind('sweep file', async (file) => void (await resolveSweep(file))),
  kind('table spec', async (file) => void (await loadTableSpec(file))),
  kind('partial experiment config', async (file, sets) => void (await loadExperiment(file, sets, { partial: true }))),
  kind('experiment config', async (file, sets) => void (await loadExperiment(file, sets))),
];

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check config files and report every problem with its file:line:col',
  usage: `epsilab validate <file...> [--set path=value ...]

Checks each file (shell globs work: configs/*.yaml configs/**/*.yaml) and prints "ok <file>" or every problem
found, compiler style, with the source line. Experiment configs are checked with their extends chain, plugins,
schema and cross-field rules. Files under a folder starting with "_" (configs/_base/) are fragments: only what
they set is checked, nothing is required. --set applies to every file.

Options:
  --set path=value   override one config value (value parsed as YAML); repeatable
Exit codes: 0 every file is valid, 2 some file has problems (or bad usage).`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { set: { type: 'string', multiple: true, default: [] } },
    });
    if (!positionals.length) throw new UsageError('validate needs at least one file');
    let failed = 0;
    for (const file of positionals) {
      const keys = await topKeys(file);
      const kind = FILE_KINDS.find((k) => k.matches(file, keys))!;
      try {
        await kind.validate(file, values.set ?? []);
        console.log(`ok ${file}`);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        failed++;
        console.error(formatDiagnostics(e.diagnostics));
      }
    }
    if (failed && positionals.length > 1) console.error(`${failed} of ${positionals.length} files have problems`);
    return failed ? EXIT.badInput : EXIT.ok;
  },
};
