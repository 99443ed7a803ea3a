import { buildComponent, context } from '../train/build.js';
import { evaluate } from '../train/evaluate.js';
import { openTrainedRun } from '../train/trained-run.js';
import { lockRunFolder } from '../run/lock.js';
import type { Loss } from '../train/types.js';
import { locateRunModel } from '../run/run-folder.js';
import { resolveTransforms } from '../data/transform-chain.js';
import { runRegistry } from './run-registry.js';

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
  const log = (l: string) => console.error(l);
  const run = await openTrainedRun(target, { registry: await runRegistry(locateRunModel(target).runDir), log });
  const { tf, model, config, dataset, backend } = run;
  try {
    const loss = await buildComponent<Loss>('loss', config.loss, context(config, run.build));
    const r = await evaluate(tf, model, {
      loss,
      dataset,
      transforms: resolveTransforms(run.build.registry, config.transforms.test),
      batchSize: batchSize ?? config.train.eval_batch_size,
      seed: config.seed,
      compile: config.train.compile,
    });
    return {
      model: run.outDir,
      backend: backend.name,
      images: r.images,
      test_error: r.error,
      test_top5_error: r.top5Error,
      test_loss: r.loss,
      aux_error: r.auxError,
    };
  } finally {
    model.dispose();
  }
}
