import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadExperiment } from '../../config/load.js';
import { resolveSweep } from '../../sweep/resolve.js';
import { loadTableSpec } from '../../tables/spec.js';
import { formatDiagnostics } from '../../util/diagnostics.js';
import { parseYaml } from '../../config/yaml-source.js';
import { EXIT, type Command } from '../command.js';
import { ConfigError, UsageError } from '../../util/errors.js';

/** A kind of YAML file `validate` knows; the first whose `matches` says yes validates the file (throwing ConfigError). */
export interface FileKind {
  name: string;
  matches(file: string, topKeys: string[]): boolean;
  validate(file: string, sets: string[]): Promise<void>;
}

/** A file under a folder whose name starts with `_` (configs/_base/) or named `_*.yaml` is a fragment meant to be extended. */
export function isPartialConfig(file: string): boolean {
  return path.resolve(file).split(path.sep).slice(0, -1).some((d) => d.startsWith('_')) || path.basename(file).startsWith('_');
}

export const FILE_KINDS: FileKind[] = [
  { name: 'sweep file', matches: (_file, keys) => keys.includes('sweep'), validate: async (file) => void (await resolveSweep(file)) },
  { name: 'table spec', matches: (_file, keys) => keys.includes('cells') && keys.includes('runs'), validate: async (file) => void (await loadTableSpec(file)) },
  { name: 'partial experiment config', matches: (file) => isPartialConfig(file), validate: async (file, sets) => void (await loadExperiment(file, sets, { partial: true })) },
  { name: 'experiment config', matches: () => true, validate: async (file, sets) => void (await loadExperiment(file, sets)) },
];

async function topKeys(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const { root } = parseYaml({ file, text });
  return root?.kind === 'map' ? [...root.entries.keys()] : [];
}

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
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { set: { type: 'string', multiple: true, default: [] } } });
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
