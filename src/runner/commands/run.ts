import { parseArgs } from 'node:util';
import { dirname, resolve } from 'node:path';
import { loadExperiment } from '../../config/load.js';
import { defaultRunDir } from '../../run/run-folder.js';
import { type Command } from '../command.js';
import { expectFileKind } from '../file-kind.js';
import { UsageError } from '../../util/errors.js';
import { REQUEUE_SIGNAL_ENV } from '../../util/processes.js';

/** The signal a Slurm task launcher asked the run to treat as its time-limit warning, if any. */
function requeueSignalFromEnv(): NodeJS.Signals | undefined {
  const name = process.env[REQUEUE_SIGNAL_ENV];
  if (!name) return undefined;
  if (!/^SIG(HUP|USR1|USR2)$/.test(name))
    throw new UsageError(`${REQUEUE_SIGNAL_ENV}=${name}: the requeue signal is SIGHUP, SIGUSR1 or SIGUSR2`);
  return name as NodeJS.Signals;
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Train the experiment a config declares (resumes it if its run folder has a checkpoint)',
  usage: `epsilab run <config.yaml> [--set path=value ...] [--run-dir DIR] [--force | --extend] [--wait] [--nproc N]

Validates the config, then trains it into results/<experiment>/<run-id>/ (the run id derives from the resolved
config and seed, so the same config always maps to the same folder). Running it again continues from the last
intact checkpoint; a finished run is not run again. Ctrl-C or SIGTERM writes a checkpoint and exits 130.
One process at a time holds a run folder: another one's run of it exits 2 naming the holder, or waits with --wait.
A --run-dir that holds a run of another config is refused with the values that differ.

Options:
  --set path=value   override one config value (value parsed as YAML); repeatable
  --run-dir DIR      use DIR as the run folder (sweeps give each trial its own)
  --force            start the run folder over: its checkpoints, metrics, model and result are removed first
  --extend           continue the run in --run-dir to a longer schedule (a larger train.epochs); history.jsonl records it
  --wait             when another process holds the run folder, wait for it to finish instead of failing
  --nproc N          train data-parallel over N processes of this machine (sets train.distributed.ranks): one GPU
                     each with device: cuda, the cores divided between them with device: cpu. Rank 0 prints and
                     writes the run folder; rank K logs to rank-K.log there. Under srun or torchrun each task is a
                     rank already (their environment says which)
Exit codes: 0 done, 1 failed or diverged, 2 bad config or usage, a run folder in use or of another config, 130 interrupted,
75 stopped by the requeue signal named in ${REQUEUE_SIGNAL_ENV} (Slurm's time-limit warning) after writing a checkpoint.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        set: { type: 'string', multiple: true, default: [] },
        'run-dir': { type: 'string' },
        force: { type: 'boolean', default: false },
        extend: { type: 'boolean', default: false },
        wait: { type: 'boolean', default: false },
        nproc: { type: 'string' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('run takes exactly one config file');
    if (values.force && values.extend)
      throw new UsageError('--force starts over and --extend continues: give one of them');
    if (values.extend && !values['run-dir'])
      throw new UsageError(
        '--extend continues the run in --run-dir DIR: name its folder (a longer train.epochs makes a new default folder)',
      );
    const nproc = values.nproc === undefined ? 1 : Number(values.nproc);
    if (!Number.isInteger(nproc) || nproc < 1)
      throw new UsageError(`--nproc takes a number of processes (1 or more), not ${JSON.stringify(values.nproc)}`);
    const file = positionals[0];
    await expectFileKind(file, ['experiment config']);
    const sets = [...(values.set ?? []), ...(nproc > 1 ? [`train.distributed.ranks=${nproc}`] : [])];
    const { config, text, registry } = await loadExperiment(file, sets);
    const runDir = values['run-dir'] ? resolve(values['run-dir']) : defaultRunDir(config);
    const { runTraining } = await import('../../app/launch.js');
    return runTraining({
      // every rank runs this same command, with the run folder named so that all agree on it
      args: ['run', ...argv, ...(values['run-dir'] ? [] : ['--run-dir', runDir])],
      config,
      configText: text,
      configDir: dirname(resolve(file)),
      runDir,
      log: (l) => console.log(l),
      force: values.force,
      extend: values.extend,
      wait: values.wait,
      registry,
      requeueSignal: requeueSignalFromEnv(),
    });
  },
};
