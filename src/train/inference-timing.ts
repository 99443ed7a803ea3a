import type * as tfc from '@tensorflow/tfjs-core';
import type { Model } from '../models/types.js';

export interface InferenceTiming {
  batch: number;
  repeats: number;
  median_seconds: number;
  images_per_sec: number;
}

/** Median wall time of an inference-mode forward pass over one random batch (after one warm-up pass). */
export async function timeInference(tf: typeof tfc, model: Model, batch: number, repeats: number): Promise<InferenceTiming> {
  const x = tf.randomNormal([batch, ...model.inputShape], 0, 1, 'float32', 7) as tfc.Tensor4D;
  const once = async () => {
    const start = performance.now();
    const logits = tf.tidy(() => model.apply(x, { training: false }).logits);
    await logits.data();
    logits.dispose();
    return (performance.now() - start) / 1000;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) times.push(await once());
  x.dispose();
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return { batch, repeats, median_seconds: median, images_per_sec: batch / median };
}
