import { parseArgs } from 'node:util';
import { loadExperiment } from '../../config/load.js';
import { EXIT, type Command } from '../command.js';
import { expectFileKind } from '../file-kind.js';
import { UsageError } from '../../util/errors.js';

export const printConfigCommand: Command = {
  name: 'print-config',
  summary: 'Print the resolved config (extends merged, overrides and defaults applied), each value with its origin',
  usage: `epsilab print-config <config.yaml> [--set path=value ...]

Prints the config exactly as a run would see it, as YAML: the extends chain merged, --set overrides and schema
defaults applied. A comment after each value says where it came from: file:line:col, the --set, or "default".

Options:
  --set path=value   override one config value (value parsed as YAML); repeatable
Exit codes: 0 printed, 2 bad config or usage.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { set: { type: 'string', multiple: true, default: [] } },
    });
    if (positionals.length !== 1) throw new UsageError('print-config takes exactly one config file');
    await expectFileKind(positionals[0], ['experiment config']);
    const { text } = await loadExperiment(positionals[0], values.set ?? []);
    process.stdout.write(text);
    return EXIT.ok;
  },
};
