import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { componentSections } from '../../config/checks.js';
import { knownTrainSize } from '../../data/dataset-params.js';
import { loadExperiment, type ExperimentConfig } from '../../config/load.js';
import { displayPath } from '../../config/paths.js';
import { defaultRunDir } from '../../run/run-folder.js';
import { planSweep } from '../../sweep/plan.js';
import { EXIT, type Command } from '../command.js';
import { expectFileKind } from '../file-kind.js';
import { UsageError } from '../../util/errors.js';

export const planCommand: Command = {
  name: 'plan',
  summary: 'Show what a config would run: run folder, components, epochs and steps; trains nothing',
  usage: `epsilab plan <config.yaml> [--set path=value ...]
       epsilab plan <sweep.yaml>

Validates the config and prints what \`epsilab run\` would do with it: the run folder results/<experiment>/<run-id>/
(the id is the SHA-256 of the resolved config, seed included), each component with its parameters, epochs and steps.
For a sweep file, expands and validates every trial and prints them as a table.

Options:
  --set path=value   override one config value (value parsed as YAML); repeatable
Exit codes: 0 planned, 2 bad config or usage.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { set: { type: 'string', multiple: true, default: [] } },
    });
    if (positionals.length !== 1) throw new UsageError('plan takes exactly one config file');
    if ((await expectFileKind(positionals[0], ['experiment config', 'sweep file'])) === 'sweep file')
      return planSweep(positionals[0]);
    const { config } = await loadExperiment(positionals[0], values.set ?? []);
    const rows: [string, string][] = [
      ['experiment', config.experiment + (config.description ? ` (${config.description})` : '')],
      ['run folder', `${relative(process.cwd(), defaultRunDir(config)) || '.'}/`],
      ['seed', String(config.seed)],
      ['backend', config.backend],
    ];
    for (const { path, section } of componentSections(config)) {
      const { type, ...params } = section;
      const shown = Object.keys(params).length
        ? ` ${stringify(params, { collectionStyle: 'flow', lineWidth: 0 }).trim()}`
        : '';
      rows.push([displayPath(path), type + shown]);
    }
    rows.push(
      ['epochs', String(config.train.epochs)],
      ['batch size', String(config.train.batch_size)],
      ['steps', steps(config)],
    );
    const width = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
    return EXIT.ok;
  },
};

/** Steps per epoch and in all, when the training-set size is known before loading data. */
function steps(config: ExperimentConfig): string {
  const { epochs, batch_size: batch, drop_remainder: drop, steps_per_epoch: cap } = config.train;
  const n = knownTrainSize(config.dataset)?.size;
  if (n === undefined)
    return cap
      ? `at most ${cap} per epoch (train.steps_per_epoch), at most ${cap * epochs} in all`
      : "per epoch: the training set's size / batch size (known once the data is read)";
  const perEpoch = Math.min(drop ? Math.floor(n / batch) : Math.ceil(n / batch), cap ?? Infinity);
  return `${perEpoch} per epoch (${n} images / batch ${batch}${cap ? `, capped at ${cap}` : ''}), ${perEpoch * epochs} in all`;
}
