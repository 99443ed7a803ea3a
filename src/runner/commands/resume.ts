import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readConfigDir, readRunConfig } from '../../run/run-folder.js';
import { type Command } from '../command.js';
import { UsageError } from '../../util/errors.js';

export const resumeCommand: Command = {
  name: 'resume',
  summary: 'Continue an interrupted run from its last checkpoint, with the config it recorded',
  usage: `epsilab resume <run-dir>

Reads the resolved config the run recorded (config.json) and continues from checkpoints/latest.json.
Exit codes: 0 done, 1 failed or diverged, 2 not a run folder, 130 interrupted again.`,
  async run(argv) {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
    if (positionals.length !== 1) throw new UsageError('resume takes exactly one run folder');
    const runDir = resolve(positionals[0]);
    const config = readRunConfig(runDir);
    if (config.plugins?.length) throw new UsageError(`${runDir} uses plugins; resume it by running its config again (epsilab run <config>)`);
    const text = readFileSync(join(runDir, 'config.yaml'), 'utf8');
    const { executeRun } = await import('../execute.js');
    return executeRun({ config, configText: text, configDir: readConfigDir(runDir), runDir, log: (l) => console.log(l) });
  },
};
