import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { type Command } from '../command.js';
import { EXIT } from '../command.js';
import { UsageError } from '../../util/errors.js';

export const reproCommand: Command = {
  name: 'repro',
  summary: 'Run a recorded run again in a new folder and check, metric by metric, that it gives the same result',
  usage: `epsilab repro <run-dir> [--run-dir DIR] [--tolerance X]

Trains the run again from the config it recorded (config.json), with its seed and the backend its env.json names,
into a new folder (default <run-dir>/repro-<n>), then compares the final metrics, parameters and FLOPs of the two
result.json files one by one. On the same backend with the same thread count every metric must be exactly equal;
otherwise a metric matches when |difference| ≤ X · max(1, |recorded|) (default X = 0.02). Speed and memory
figures are not compared. Warns about every difference of package versions, git commit, Node, backend, backend
threads and CPU between the two env.json files. Writes repro.json (the comparison) to the new folder.
Exit codes: 0 every metric matches, 1 a metric differs or the run failed, 2 bad arguments or not a finished run.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { 'run-dir': { type: 'string' }, tolerance: { type: 'string', default: '0.02' } },
    });
    if (positionals.length !== 1) throw new UsageError('repro takes exactly one run folder');
    const tolerance = Number(values.tolerance);
    if (!Number.isFinite(tolerance) || tolerance < 0)
      throw new UsageError(`--tolerance must be a number ≥ 0 (got ${values.tolerance})`);
    const { reproduceRun } = await import('../../app/repro.js');
    const record = await reproduceRun(resolve(positionals[0]), {
      runDir: values['run-dir'] === undefined ? undefined : resolve(values['run-dir']),
      tolerance,
      log: (l) => console.log(l),
    });
    return record.matched ? EXIT.ok : EXIT.failed;
  },
};
