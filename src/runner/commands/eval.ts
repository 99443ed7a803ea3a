import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { type Command } from '../command.js';
import { UsageError } from '../../util/errors.js';
export const evalCommand: Command = {
  name: 'eval',
  summary: "Evaluate a run's model, or any exported model inside a run folder, with the run's evaluations",
  usage: `epsilab eval <run-dir | model-dir> [--batch-size N] [--wait]

<run-dir> evaluates its final model (<run-dir>/model); a model folder inside a run (such as <run-dir>/compressed)
evaluates that model with the run's dataset and test transforms. Runs each evaluation of the run's config
(evaluations; by default the test split) and prints its metrics as JSON: test_loss, test_error,
test_top5_error, test_accuracy, <head>/test_error, eval_images_per_sec by default. --batch-size N stands for
train.eval_batch_size: it sets the batch size of each evaluation that sets none of its own.
It holds the run folder while it reads: a folder another process holds is refused, or waited for with --wait.
Exit codes: 0 ok, 1 failed, 2 bad arguments, a damaged model, or a run folder in use.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { 'batch-size': { type: 'string' }, wait: { type: 'boolean', default: false } },
    });
    if (positionals.length !== 1) throw new UsageError('eval takes exactly one run or model folder');
    const batch = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
    if (batch !== undefined && (!Number.isInteger(batch) || batch < 1))
      throw new UsageError(`--batch-size must be a positive integer (got ${values['batch-size']})`);
    const { evaluateModelFolder } = await import('../../app/evaluate.js');
    console.log(
      JSON.stringify(
        await evaluateModelFolder(resolve(positionals[0]), { batchSize: batch, wait: values.wait }),
        null,
        2,
      ),
    );
    return 0;
  },
};
