import type * as tfc from '@tensorflow/tfjs-core';
import { compile, type CompileMode } from '../backends/compile.js';
import { InputPipeline } from '../data/pipeline.js';
import type { ResolvedTransform } from '../data/transform-chain.js';
import type { DatasetSplits } from '../data/types.js';
import type { Evaluation, EvaluationContext, Evaluator, Loss } from './types.js';
import type { Model } from '../models/types.js';

export interface EvalResult {
  loss: number;
  error: number;
  top5Error: number;
  /** Error of each auxiliary head (monitoring only), by head name. */
  auxError: Record<string, number>;
  images: number;
  seconds: number;
}

/** Top-1 and top-5 misses of a batch, as a [2] tensor. */
export function misses(tf: typeof tfc, logits: tfc.Tensor2D, labels: tfc.Tensor1D): tfc.Tensor1D {
  return tf.tidy(() => {
    const y = tf.cast(labels, 'int32');
    const top1 = tf.sum(tf.cast(tf.notEqual(tf.cast(tf.argMax(logits, 1), 'int32'), y), 'float32'));
    const k = Math.min(5, logits.shape[1]);
    const { indices } = tf.topk(logits, k);
    const hit5 = tf.sum(tf.cast(tf.equal(indices, tf.expandDims(y, 1)), 'float32'), 1);
    const top5 = tf.sum(tf.sub(1, hit5));
    return tf.stack([top1, top5]) as tfc.Tensor1D;
  });
}

export interface EvaluateOptions {
  loss: Loss;
  dataset: DatasetSplits;
  split: 'train' | 'test';
  /** The config's test transforms, resolved. */
  transforms: ResolvedTransform[];
  batchSize: number;
  seed: number;
  /** Each batch's own batch-norm statistics, as training computes them, instead of the running averages. */
  batchStatistics?: boolean;
  compile: CompileMode;
}

/**
 * Evaluate a model on a whole split (the test split, or the training one without augmentation) in inference mode
 * (running batch-norm statistics), or with `batchStatistics` as training runs it (each batch's own statistics, nothing
 * updated). With `compile: auto` (the default) each batch shape's forward pass is captured once and replayed natively
 * where the backend can (libtorch), as the training step is.
 */
export async function evaluate(tf: typeof tfc, model: Model, o: EvaluateOptions): Promise<EvalResult> {
  const { loss, dataset, transforms, batchSize, seed } = o;
  const pipeline = new InputPipeline({
    set: dataset[o.split],
    transforms,
    batchSize,
    shuffle: false,
    seed,
    dropRemainder: false,
    workers: 0,
    fit: { train: dataset.train, test: dataset.test },
  });
  const start = performance.now();
  let lossSum = 0;
  let top1 = 0;
  let top5 = 0;
  let n = 0;
  const aux: Record<string, number> = {};
  let auxNames: string[] = [];
  /** A batch's summed loss, top-1 and top-5 misses, then each auxiliary head's top-1 misses. */
  const batchStats = (x: tfc.Tensor4D, y: tfc.Tensor1D) => {
    const out = model.apply(x, o.batchStatistics ? { training: true, updateStats: false } : { training: false });
    const { total } = loss.compute(out, y, model.numClasses);
    auxNames = out.auxLogits.map((a) => a.name);
    const parts = [tf.mul(total, x.shape[0]), misses(tf, out.logits, y)];
    for (const a of out.auxLogits) parts.push(tf.slice(misses(tf, a.logits, y), [0], [1]));
    return tf.concat(parts.map((p) => tf.reshape(p, [-1])));
  };
  const compiled = compile(tf, ([x, y]) => ({ stats: batchStats(x as tfc.Tensor4D, y as tfc.Tensor1D) }), {
    mode: o.compile,
    log: () => {},
  });
  try {
    for await (const b of pipeline.batches(0, 0)) {
      const [x, y] = [tf.tensor4d(b.x, b.shape), tf.tensor1d(b.y, 'int32')];
      const stats = compiled.run([x, y]).stats;
      tf.dispose([x, y]);
      const v = await stats.data();
      stats.dispose();
      lossSum += v[0];
      top1 += v[1];
      top5 += v[2];
      auxNames.forEach((name, i) => (aux[name] = (aux[name] ?? 0) + v[3 + i]));
      n += b.shape[0];
    }
  } finally {
    pipeline.close();
    compiled.dispose();
  }
  const auxError = Object.fromEntries(Object.entries(aux).map(([k, v]) => [k, v / n]));
  return {
    loss: lossSum / n,
    error: top1 / n,
    top5Error: top5 / n,
    auxError,
    images: n,
    seconds: (performance.now() - start) / 1000,
  };
}

/** Runs evaluators one after another and merges their metrics; eval_images_per_sec counts all of them together. */
export async function runEvaluations(
  evaluators: readonly Evaluator[],
  ctx: EvaluationContext,
): Promise<{ metrics: Record<string, number>; results: Evaluation[] }> {
  const results: Evaluation[] = [];
  for (const e of evaluators) results.push(await e.run(ctx));
  const images = results.reduce((a, r) => a + r.images, 0);
  const seconds = results.reduce((a, r) => a + r.seconds, 0);
  return {
    metrics: Object.assign({}, ...results.map((r) => r.metrics), { eval_images_per_sec: images / seconds }),
    results,
  };
}
