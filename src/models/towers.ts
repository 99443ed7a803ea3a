import type * as tfc from '@tensorflow/tfjs-core';
import type { Model, ModelOutput } from './types.js';
import { tidyOutput } from './common.js';

type TF = typeof tfc;

/**
 * Training as on `towers` GPUs (tensorpack 0.2.0 SyncMultiGPUTrainer, yuxwind/epsilonResnet
 * scripts/imagenetEpsilonResnet.py:318-326): the batch splits into `towers` equal groups, each run as its own forward
 * pass, so every tower computes its own ε gates (a max over its own images) and its own batch-norm statistics. Tower 0
 * alone updates the BN moving averages and reports the gate readings (the is_discarded averages come from the main
 * tower's summaries). Logits and side logits are concatenated in batch order, so a mean loss over the batch is the mean
 * of the towers' mean losses and its gradient the average of their gradients, as the trainer averages them.
 * Evaluation passes are not split.
 */
export function withTowers(tf: TF, model: Model, towers: number): Model {
  if (!Number.isInteger(towers) || towers < 1) throw new Error(`towers must be a positive integer (got ${towers})`);
  if (towers === 1) return model;
  return {
    ...model,
    apply(x, opts): ModelOutput {
      if (!opts.training) return model.apply(x, opts);
      const n = x.shape[0];
      if (n % towers !== 0)
        throw new Error(`a training batch of ${n} images does not split into ${towers} equal towers`);
      const per = n / towers;
      return tidyOutput(tf, () => {
        const outs = Array.from({ length: towers }, (_, t) =>
          model.apply(tf.slice(x, [t * per, 0, 0, 0], [per, -1, -1, -1]), {
            training: true,
            updateStats: t === 0 && (opts.updateStats ?? true),
          }),
        );
        const taps: Record<string, tfc.Tensor> = {};
        for (const name of Object.keys(outs[0].taps)) taps[name] = tf.concat(outs.map((o) => o.taps[name]));
        return {
          logits: tf.concat(outs.map((o) => o.logits)),
          taps,
          auxLogits: outs[0].auxLogits.map((head, i) => ({
            ...head,
            logits: tf.concat(outs.map((o) => o.auxLogits[i].logits)),
          })),
          gates: outs[0].gates,
        };
      });
    },
  };
}
