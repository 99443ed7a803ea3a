import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { selectBackend } from '../backends/select.js';
import { buildComponent, buildDataset, buildModel, context, transformedShape } from '../train/build.js';
import { evaluate } from '../train/evaluate.js';
import { readExportedModel } from '../run/model-files.js';
import type { Loss } from '../train/types.js';
import type { ComponentSection } from '../config/load.js';
import { assignByName } from '../models/weights.js';
import { readConfigDir, readResult, readRunConfig } from '../run/run-folder.js';
import { UsageError } from '../util/errors.js';
import { builtinRegistry } from '../components/index.js';
import { resolveTransforms } from '../data/transform-chain.js';
import { finalEpsilon } from '../components/callback/epsilon-schedule.js';

/** Evaluates a run's final model, or a model folder inside a run (its compressed model), on the run's test split. */
export async function evaluateModelFolder(target: string, batchSize?: number): Promise<Record<string, unknown>> {
  const isRun = existsSync(join(target, 'config.json'));
  const runDir = isRun ? target : dirname(target);
  const modelDir = isRun ? join(target, 'model') : target;
  if (!existsSync(join(runDir, 'config.json'))) throw new UsageError(`${target} is neither a run folder nor a model folder inside one`);
  const config = readRunConfig(runDir);
  const saved = readExportedModel(modelDir);
  const backend = await selectBackend(config.backend, { device: config.device });
  const tf = backend.tf;
  const opts = { tf, configDir: readConfigDir(runDir), log: (l: string) => console.error(l), registry: builtinRegistry };
  const dataset = await buildDataset(config, opts);
  const inputShape = await transformedShape(dataset, config.transforms.train, context(config, opts));
  const model = await buildModel(config, opts, inputShape, dataset.numClasses, saved.topology.model as ComponentSection);
  assignByName(model.variables, new Map([...saved.values].map(([k, v]) => [k, tf.tensor(v.data, v.shape)])));
  const epsilon = finalEpsilon(config, readResult(runDir)?.epochs_done ?? config.train.epochs);
  if (model.epsilon && epsilon !== null) model.epsilon.assign(tf.scalar(epsilon));
  const loss = await buildComponent<Loss>('loss', config.loss, context(config, opts));
  const r = await evaluate(tf, model, loss, dataset, resolveTransforms(opts.registry, config.transforms.test), batchSize ?? config.train.eval_batch_size, config.seed);
  model.dispose();
  return { model: modelDir, backend: backend.name, images: r.images, test_error: r.error, test_top5_error: r.top5Error, test_loss: r.loss, aux_error: r.auxError };
}
