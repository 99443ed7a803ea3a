import { selectBackend } from '../backends/select.js';
import { buildComponent, buildDataset, buildModel, context, transformedShape } from '../train/build.js';
import { evaluate } from '../train/evaluate.js';
import { assignSavedWeights } from '../run/model-files.js';
import { lockRunFolder } from '../run/lock.js';
import type { Loss } from '../train/types.js';
import type { ComponentSection } from '../config/load.js';
import { locateRunModel, readResult, readRunModel } from '../run/run-folder.js';
import { builtinRegistry } from '../components/index.js';
import { resolveTransforms } from '../data/transform-chain.js';
import { finalEpsilon } from '../components/callback/epsilon-schedule.js';

/** Evaluates a run's final model, or a model folder inside a run (its compressed model), on the run's test split, holding the run folder meanwhile. */
export async function evaluateModelFolder(
  target: string,
  o: { batchSize?: number; wait?: boolean } = {},
): Promise<Record<string, unknown>> {
  const lock = await lockRunFolder(locateRunModel(target).runDir, {
    purpose: 'eval',
    wait: o.wait,
    log: (l) => console.error(l),
  });
  try {
    return await evaluateLocked(target, o.batchSize);
  } finally {
    lock.release();
  }
}

async function evaluateLocked(target: string, batchSize?: number): Promise<Record<string, unknown>> {
  const { runDir, config, configDir, model: saved } = readRunModel(target);
  const backend = await selectBackend(config.backend, { device: config.device });
  const tf = backend.tf;
  const opts = { tf, configDir, log: (l: string) => console.error(l), registry: builtinRegistry };
  const dataset = await buildDataset(config, opts);
  const inputShape = await transformedShape(dataset, config.transforms.train, context(config, opts));
  const model = await buildModel(
    config,
    opts,
    inputShape,
    dataset.numClasses,
    saved.topology.model as ComponentSection,
  );
  assignSavedWeights(tf, model.variables, saved, saved.dir);
  const epsilon = finalEpsilon(config, readResult(runDir)?.epochs_done ?? config.train.epochs);
  if (model.epsilon && epsilon !== null) model.epsilon.assign(tf.scalar(epsilon));
  const loss = await buildComponent<Loss>('loss', config.loss, context(config, opts));
  const r = await evaluate(
    tf,
    model,
    loss,
    dataset,
    resolveTransforms(opts.registry, config.transforms.test),
    batchSize ?? config.train.eval_batch_size,
    config.seed,
    { compile: config.train.compile },
  );
  model.dispose();
  return {
    model: saved.dir,
    backend: backend.name,
    images: r.images,
    test_error: r.error,
    test_top5_error: r.top5Error,
    test_loss: r.loss,
    aux_error: r.auxError,
  };
}
