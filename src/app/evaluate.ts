import { buildComponent, buildEvaluators, context } from '../train/build.js';
import { runEvaluations } from '../train/evaluate.js';
import { openTrainedRun } from '../train/trained-run.js';
import { lockRunFolder } from '../run/lock.js';
import type { Loss } from '../train/types.js';
import { locateRunModel } from '../run/run-folder.js';
import { resolveTransforms } from '../data/transform-chain.js';
import { runRegistry } from './run-registry.js';

/** Runs the evaluations of a run's config on its final model, or a model folder inside a run (its compressed model), holding the run folder meanwhile. */
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
    // --batch stands for train.eval_batch_size: the batch size of each evaluation that sets none of its own.
    const train = { ...config.train, eval_batch_size: batchSize ?? config.train.eval_batch_size };
    const evaluators = await buildEvaluators({ ...config, train }, run.build);
    const transforms = resolveTransforms(run.build.registry, config.transforms.test);
    const r = await runEvaluations(evaluators, { tf, model, loss, dataset, transforms });
    return {
      model: run.outDir,
      backend: backend.name,
      images: r.results.reduce((a, e) => a + e.images, 0),
      ...r.metrics,
    };
  } finally {
    model.dispose();
  }
}
