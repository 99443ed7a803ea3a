import type * as tf from '@tensorflow/tfjs-core';
import type { ModelOutput, Model, NamedVariable } from '../models/types.js';

/** What the training loop drives: optimizers, schedules, losses and callbacks. */

export interface Optimizer {
  /** Apply one step: grads by variable name. Weight decay is the optimizer's business. */
  step(vars: NamedVariable[], grads: Record<string, tf.Tensor>, lr: number): void;
  /** Slot variables to checkpoint, by name. */
  slots(): Record<string, tf.Variable>;
  /** Restore slots written by `slots()` (from a checkpoint) before the next step. */
  loadSlots(values: Record<string, tf.Tensor>): void;
  dispose(): void;
}

export interface Schedule {
  /** Learning rate for the (0-based) epoch about to start. */
  valueFor(epoch: number): number;
  /** Told after every epoch (0-based index of the epoch that ended) with that epoch's metrics. */
  observe?(epoch: number, metrics: Record<string, number>): void;
  /** Serialisable state for checkpoints; absent when the schedule is a pure function of the epoch. */
  state?(): unknown;
  restore?(state: unknown): void;
  /** Events worth a log line or a TensorBoard text (a learning-rate reset). */
  events?(): string[];
}

export interface Loss {
  compute(out: ModelOutput, labels: tf.Tensor1D, numClasses: number): { total: tf.Scalar; parts: Record<string, tf.Scalar> };
}

export interface CallbackContext {
  tf: typeof tf;
  model: Model;
  epoch: number;
  log: (line: string) => void;
}

export interface Callback {
  onEpochStart?(ctx: CallbackContext): void;
  onEpochEnd?(ctx: CallbackContext, metrics: Record<string, number>): void;
}
