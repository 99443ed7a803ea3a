import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { selectBackend } from '../../engine/backend.js';
import { buildComponent, buildDataset, buildModel, context, transformedShape } from '../../engine/build.js';
import { evaluate } from '../../engine/evaluate.js';
import { readExportedModel } from '../../engine/export.js';
import type { Loss } from '../../engine/types.js';
import type { ComponentSection } from '../../config/load.js';
import { assignByName } from '../../models/weights.js';
import { readConfigDir, readRunConfig } from '../run-folder.js';
import { UsageError, type Command } from '../command.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: "Evaluate a run's model, or any exported model inside a run folder, on the run's test split",
  usage: `epsilab eval <run-dir | model-dir> [--batch-size N]

<run-dir> evaluates its final model (<run-dir>/model); a model folder inside a run (such as <run-dir>/compressed)
evaluates that model with the run's dataset and test transforms. Prints test error, top-5 error and loss as JSON.
Exit codes: 0 ok, 1 failed, 2 bad arguments.`,
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { 'batch-size': { type: 'string' } } });
    if (positionals.length !== 1) throw new UsageError('eval takes exactly one run or model folder');
    const target = resolve(positionals[0]);
    const isRun = existsSync(join(target, 'config.json'));
    const runDir = isRun ? target : dirname(target);
    const modelDir = isRun ? join(target, 'model') : target;
    if (!existsSync(join(runDir, 'config.json'))) throw new UsageError(`${target} is neither a run folder nor a model folder inside one`);
    const config = readRunConfig(runDir);
    const saved = readExportedModel(modelDir);
    const backend = await selectBackend(config.backend);
    const tf = backend.tf;
    const opts = { tf, configDir: readConfigDir(runDir), log: (l: string) => console.error(l) };
    const dataset = await buildDataset(config, opts);
    const inputShape = await transformedShape(dataset, config.transforms.train, context(config, opts));
    const model = await buildModel(config, opts, inputShape, dataset.numClasses, saved.topology.model as ComponentSection);
    assignByName(model.variables, new Map([...saved.values].map(([k, v]) => [k, tf.tensor(v.data, v.shape)])));
    const loss = await buildComponent<Loss>('loss', config.loss, context(config, opts));
    const batch = values['batch-size'] ? Number(values['batch-size']) : config.train.eval_batch_size;
    if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch-size must be a positive integer (got ${values['batch-size']})`);
    const r = await evaluate(tf, model, loss, dataset, config.transforms.test, batch, config.seed);
    console.log(JSON.stringify({ model: modelDir, backend: backend.name, images: r.images, test_error: r.error, test_top5_error: r.top5Error, test_loss: r.loss, aux_error: r.auxError }, null, 2));
    return 0;
  },
};
