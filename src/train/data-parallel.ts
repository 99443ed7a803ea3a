import type * as tfc from '@tensorflow/tfjs-core';
import { openProcessGroup, type DistributedEnv, type ProcessGroup } from '../backends/process-group.js';
import type { Model, NamedVariable } from '../models/types.js';

/** Gradient bucket size: PyTorch DDP's default `bucket_cap_mb` (torch/nn/parallel/distributed.py). */
export const BUCKET_BYTES = 25 * 1024 * 1024;

/** Ranks other than 0 wait for rank 0's evaluation this many watchdog timeouts at most. */
const EVALUATION_TIMEOUTS = 6;

/**
 * Training as `train.towers` (tensorpack's SyncMultiGPUTrainer, yuxwind/epsilonResnet
 * scripts/imagenetEpsilonResnet.py:318-326), one tower per process: each rank trains on its own equal part of the
 * global batch, so it computes its own ε gates and batch-norm statistics; gradients are averaged over the ranks in
 * buckets; rank 0's moving averages and gate readings are the run's (tower 0's), and the loss and error are over the
 * global batch. Every rank applies the same averaged update, so the weights stay equal without being sent.
 *
 * Evaluation runs on rank 0 alone: its result is then exactly a one-process run's (the batch-statistics check and
 * batch-norm recalibration depend on how the test set is batched), and the other ranks receive its metrics.
 */
export class DataParallel {
  constructor(
    readonly tf: typeof tfc,
    readonly group: ProcessGroup,
    private readonly timeoutMs: number,
  ) {}

  get rank(): number {
    return this.group.rank;
  }

  get worldSize(): number {
    return this.group.worldSize;
  }

  /** Whether this rank evaluates, recalibrates and reports (rank 0, tensorpack's tower 0). */
  get leads(): boolean {
    return this.group.rank === 0;
  }

  /** The gradients averaged over the ranks, bucketed from the last parameter back as PyTorch's reducer fills them. */
  averageGradients(trainable: NamedVariable[], grads: Record<string, tfc.Tensor>): Record<string, tfc.Tensor> {
    const names = trainable.map((v) => v.name).filter((n) => grads[n] !== undefined);
    const averaged = this.group.allreduce(
      names.map((n) => grads[n]),
      'avg',
      BUCKET_BYTES,
    );
    return Object.fromEntries(names.map((n, i) => [n, averaged[i]]));
  }

  /**
   * The step's readings over the global batch, the same on every rank: the mean loss over the ranks (equal parts, so
   * the global batch's mean), the misses summed, and rank 0's gate readings. One allreduce of one small vector.
   */
  globalReadings(readings: Record<string, tfc.Tensor>): Record<string, tfc.Tensor> {
    const tf = this.tf;
    const names = Object.keys(readings).sort();
    const scale = (name: string) => (name === 'loss' ? 1 / this.worldSize : name === 'misses' ? 1 : this.leads ? 1 : 0);
    const sizes = names.map((n) => readings[n].size);
    const [summed] = this.group.allreduce(
      [tf.concat(names.map((n) => tf.mul(tf.reshape(readings[n], [-1]), scale(n))))],
      'sum',
      BUCKET_BYTES,
    );
    const parts = tf.split(summed, sizes);
    return Object.fromEntries(names.map((n, i) => [n, tf.reshape(parts[i], readings[n].shape)]));
  }

  /** Rank 0's answer on every rank (whether the run trains at all: rank 0 alone knows what its folder holds). */
  agree(answer: boolean): boolean {
    return this.broadcastValues(Float32Array.of(answer ? 1 : 0), this.timeoutMs)[0] > 0;
  }

  /** Whether any rank was asked to stop: every rank then stops after the same step. */
  anyStops(requested: boolean): boolean {
    const tf = this.tf;
    return (
      tf.tidy(() => this.group.allreduce([tf.tensor1d([requested ? 1 : 0])], 'sum', BUCKET_BYTES)[0].dataSync())[0] > 0
    );
  }

  /**
   * After rank 0's evaluation: every rank takes rank 0's state variables (the batch-norm moving averages, which each
   * rank updated from its own part, and any recalibrated ones) and its epoch metrics, so callbacks and schedules decide
   * the same on every rank.
   */
  followRankZero(model: Model, metrics: Record<string, number>): Record<string, number> {
    const tf = this.tf;
    const timeout = this.timeoutMs * EVALUATION_TIMEOUTS;
    const state = model.variables.filter((v) => !v.trainable);
    if (state.length) {
      const values = this.group.broadcast(
        state.map((v) => v.variable),
        0,
        timeout,
      );
      state.forEach((v, i) => v.variable.assign(values[i]));
      tf.dispose(values);
    }
    const bytes = new TextEncoder().encode(this.leads ? JSON.stringify(metrics) : '');
    const length = this.broadcastValues(Float32Array.of(bytes.length), timeout)[0];
    const text = this.broadcastValues(this.leads ? Float32Array.from(bytes) : new Float32Array(length), timeout);
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(text))) as Record<string, number>;
  }

  private broadcastValues(values: Float32Array, timeoutMs: number): Float32Array {
    const tf = this.tf;
    return tf.tidy(() => this.group.broadcast([tf.tensor1d(values)], 0, timeoutMs)[0].dataSync() as Float32Array);
  }
}

/** Joins the data-parallel group of this process's environment (returns once every rank has arrived). */
export function joinDataParallel(
  tf: typeof tfc,
  env: DistributedEnv,
  device: string,
  log: (line: string) => void,
): DataParallel {
  const group = openProcessGroup(tf, env, device);
  log(`data-parallel: rank ${group.rank} of ${group.worldSize} (${group.backendName})`);
  return new DataParallel(tf, group, env.timeoutMs);
}
