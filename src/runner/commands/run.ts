import { parseArgs } from 'node:util';
import { dirname, resolve } from 'node:path';
import { loadExperiment } from '../../config/load.js';
import { defaultRunDir } from '../../run/run-folder.js';
import { type Command } from '../command.js';
import { expectFileKind } from '../file-kind.js';
import { UsageError } from '../../util/errors.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'Train the experiment a config declares (resumes it if its run folder has a checkpoint)',
  usage: `epsilab run <config.yaml> [--set path=value ...] [--run-dir DIR] [--force]

Validates the config, then trains it into results/<experiment>/<run-id>/ (the run id derives from the resolved
config and seed, so the same config always maps to the same folder). Running it again continues from the last
checkpoint; a finished run is not run again unless --force. Ctrl-C or SIGTERM writes a checkpoint and exits 130.

Options:
  --set path=value   override one config value (value parsed as YAML); repeatable
  --run-dir DIR      use DIR as the run folder (sweeps give each trial its own)
  --force            train again even when the run folder holds a finished run
Exit codes: 0 done, 1 failed or diverged, 2 bad config or usage, 130 interrupted.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { set: { type: 'string', multiple: true, default: [] }, 'run-dir': { type: 'string' }, force: { type: 'boolean', default: false } },
    });
    if (positionals.length !== 1) throw new UsageError('run takes exactly one config file');
    const file = positionals[0];
    await expectFileKind(file, ['experiment config']);
    const { config, text, registry } = await loadExperiment(file, values.set ?? []);
    const runDir = values['run-dir'] ? resolve(values['run-dir']) : defaultRunDir(config);
    const { executeRun } = await import('../execute.js');
    return executeRun({ config, configText: text, configDir: dirname(resolve(file)), runDir, log: (l) => console.log(l), force: values.force, registry });
  },
};
