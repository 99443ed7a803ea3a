import type * as tf from '@tensorflow/tfjs-core';
import type { HostBatch } from '../data/batch.js';
import type { CompileMode } from '../backends/compile.js';
import type { ResolvedTransform } from '../data/transform-chain.js';
import type { DatasetSplits } from '../data/types.js';
import type { ModelOutput, Model, NamedVariable } from '../models/types.js';

/** What the training loop drives: optimizers, schedules, losses, callbacks and evaluators. */

/** What an optimizer component builds. */
export interface Optimizer {
  /**
   * Apply one step: grads by variable name. Weight decay is the optimizer's business; `globalStep` is the number of
   * steps taken before this one over the whole run, which a weight-decay schedule reads as TF's global_step. The
   * learning rate and the global step may be tensors (a compiled step passes them as inputs) and the step reads no
   * values on the host.
   */
  step(
    vars: NamedVariable[],
    grads: Record<string, tf.Tensor>,
    lr: number | tf.Scalar,
    globalStep: number | tf.Scalar,
  ): void;
  /** Slot variables to checkpoint, by name. */
  slots(): Record<string, tf.Variable>;
  /** Restore slots written by `slots()` (from a checkpoint) before the next step. */
  loadSlots(values: Record<string, tf.Tensor>): void;
  dispose(): void;
}

/** What a schedule component builds: the learning rate of each epoch, possibly reacting to metrics. */
export interface Schedule {
  /** Learning rate for the (0-based) epoch about to start. */
  valueFor(epoch: number): number;
  /** Learning rate at a point inside an epoch (`fraction` of its steps done), for schedules that change per step. */
  valueAt?(epoch: number, fraction: number): number;
  /** Told after every epoch (0-based index of the epoch that ended) with that epoch's metrics. */
  observe?(epoch: number, metrics: Record<string, number>): void;
  /** Serialisable state for checkpoints; absent when the schedule is a pure function of the epoch. */
  state?(): unknown;
  restore?(state: unknown): void;
  /** Events worth a log line or a TensorBoard text (a learning-rate reset). */
  events?(): string[];
}

/** What a loss component builds: the scalar to minimise and its named parts (for logging). */
export interface Loss {
  compute(
    out: ModelOutput,
    labels: tf.Tensor1D,
    numClasses: number,
  ): { total: tf.Scalar; parts: Record<string, tf.Scalar> };
}

/** Everything a callback may look at or change between epochs. */
export interface CallbackContext {
  tf: typeof tf;
  model: Model;
  epoch: number;
  log: (line: string) => void;
}

/** What a callback may use when the last epoch's training is done: the training batches and the evaluation. */
export interface FinalContext extends CallbackContext {
  /** Training batches in a fresh order (an epoch past the last). */
  trainBatches(): AsyncIterable<HostBatch>;
  /** The config's first evaluation run as the loop runs it, or on each batch's own statistics. */
  evaluate(o: { batchStatistics: boolean }): Promise<{ name: string; error: number }>;
}

/**
 * Hooks around training: a callback component (an ε schedule) or one the loop adds itself (ε gate tracking when the
 * step reports gates). Step readings arrive by name, in step order, read from the device in bulk.
 */
export interface Callback {
  /** Key of this callback's state in a checkpoint; callbacks with state must have one. */
  readonly name?: string;
  onEpochStart?(ctx: CallbackContext): void;
  /** One training step's readings (`loss`, `misses`, `<block>/gate`, ...), as host numbers. */
  onStep?(values: Record<string, number>): void;
  /** Metrics this callback adds to the epoch record, TensorBoard and metrics.jsonl. */
  report?(): Record<string, number>;
  /** Its part of the epoch's log line, given the epoch's metrics. */
  line?(metrics: Record<string, number>): string;
  onEpochEnd?(ctx: CallbackContext, metrics: Record<string, number>): void;
  state?(): unknown;
  restore?(state: unknown): void;
  /**
   * On a trained model rebuilt from its saved weights (eval, compress, export, a teacher), sets what the weights do not
   * hold, as it stood after `ctx.epoch` epochs (an ε schedule's last ε).
   */
  onReopen?(ctx: CallbackContext): void;
  /** After the last epoch's steps, before its evaluation (batch-norm statistics recomputed under the final gates). */
  beforeFinalEvaluation?(ctx: FinalContext): Promise<void>;
  /** After the last epoch's evaluation, with its metrics, which it may add to (the batch-statistics check). */
  afterFinalEvaluation?(ctx: FinalContext, metrics: Record<string, number>): Promise<void>;
  /** What it adds to result.json, by key. */
  records?(): Record<string, unknown>;
}

/** What an evaluator component is built with besides its params: its name and the `train` section's cadence. */
export interface EvaluatorFacts {
  /** Its key under `evaluations`: the prefix of its metrics (`test` → test_error). */
  name: string;
  /** train.eval_every and train.eval_batch_size: what it uses unless it sets its own. */
  every: number;
  batchSize: number;
  compile: CompileMode;
}

/** What an evaluator evaluates: the loop's model and loss (a distillation stage's), the experiment's data. */
export interface EvaluationContext {
  tf: typeof tf;
  model: Model;
  loss: Loss;
  dataset: DatasetSplits;
  /** The config's test transforms, resolved: evaluation never augments. */
  transforms: ResolvedTransform[];
  /** Each batch's own batch-norm statistics, as training computes them, instead of the running averages. */
  batchStatistics?: boolean;
}

/** One evaluator's metrics, keyed `<name>_...`; `error` is its top-1 error, also the metric `<name>_error`. */
export interface Evaluation {
  metrics: Record<string, number>;
  error: number;
  images: number;
  seconds: number;
}

/** What an evaluator component builds: a named evaluation the loop runs every `every` epochs and after the last. */
export interface Evaluator {
  readonly name: string;
  readonly every: number;
  run(ctx: EvaluationContext): Promise<Evaluation>;
}
