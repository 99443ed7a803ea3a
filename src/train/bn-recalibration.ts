import type * as tfc from '@tensorflow/tfjs-core';
import type { HostBatch } from '../data/batch.js';
import type { Model } from '../models/types.js';

/** What `train.bn_recalibration` did: recorded in result.json so a reader knows the evaluated statistics are not the training ones. */
export interface RecalibrationRecord {
  batches: number;
  images: number;
  /** The gate each block was held at (0: discarded, as compress selects it; 1: kept). */
  gates: Record<string, number>;
  seconds: number;
}

/**
 * Recomputes every batch-norm layer's running statistics as the plain average over `limit` training batches of their
 * batch statistics, with each gated block held at `gates` instead of its gate of the moment. During training the
 * moving averages mix batches run under whatever gates were open then; afterwards they describe one network, the
 * one evaluation and compression use. The original code never does this (its moving averages are the training
 * ones), so it is an option, off unless a config asks for it. Weights, gates and the optimizer are untouched.
 */
export async function recalibrateBatchNorm(
  tf: typeof tfc,
  model: Model,
  batches: AsyncIterable<HostBatch>,
  limit: number,
  gates: Record<string, number>,
): Promise<RecalibrationRecord> {
  const start = performance.now();
  let k = 0;
  let images = 0;
  for await (const b of batches) {
    if (k === limit) break;
    k += 1;
    // Momentum (k−1)/k makes each running value the mean of the k batches seen so far: the first batch replaces it.
    tf.tidy(() => {
      model.apply(tf.tensor4d(b.x, b.shape), {
        training: true,
        updateStats: true,
        statsMomentum: (k - 1) / k,
        fixedGates: gates,
      });
    });
    images += b.shape[0];
  }
  return { batches: k, images, gates, seconds: (performance.now() - start) / 1000 };
}
