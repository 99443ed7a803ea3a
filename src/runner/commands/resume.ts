import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { readConfigDir, readRunConfig, readRunConfigText } from '../../run/run-folder.js';
import { type Command } from '../command.js';
import { UsageError } from '../../util/errors.js';

export const resumeCommand: Command = {
  name: 'resume',
  summary: 'Continue an interrupted run from its last checkpoint, with the config it recorded',
  usage: `epsilab resume <run-dir> [--wait]

Reads the resolved config the run recorded (config.json) and continues from its newest intact checkpoint (a
damaged one is named, moved aside to <name>.damaged, and the one before it used).
  --wait   when another process holds the run folder, wait for it to finish instead of failing
Exit codes: 0 done, 1 failed or diverged, 2 not a run folder, damaged, or in use, 130 interrupted again.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { wait: { type: 'boolean', default: false } },
    });
    if (positionals.length !== 1) throw new UsageError('resume takes exactly one run folder');
    const runDir = resolve(positionals[0]);
    const { runTraining } = await import('../../app/launch.js');
    const { runRegistry } = await import('../../app/run-registry.js');
    const registry = await runRegistry(runDir);
    const config = readRunConfig(runDir, registry);
    return runTraining({
      args: ['resume', ...argv],
      config,
      configText: readRunConfigText(runDir),
      configDir: readConfigDir(runDir),
      runDir,
      log: (l) => console.log(l),
      wait: values.wait,
      purpose: 'resume',
      registry,
    });
  },
};
