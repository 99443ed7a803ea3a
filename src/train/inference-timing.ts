import { availableParallelism } from 'node:os';
import type * as tfc from '@tensorflow/tfjs-core';
import type { Model } from '../models/types.js';
import { compile, type CompileMode } from '../backends/compile.js';

export interface InferenceTiming {
  batch: number;
  repeats: number;
  median_seconds: number;
  images_per_sec: number;
}

/**
 * Median wall time of an inference-mode forward pass over one random batch (after one warm-up pass), compiled as
 * `train.compile` says: where the backend captures, the warm-up pass is captured and the timed passes replay it.
 */
export async function timeInference(
  tf: typeof tfc,
  model: Model,
  batch: number,
  repeats: number,
  mode: CompileMode,
): Promise<InferenceTiming> {
  const x = tf.randomNormal([batch, ...model.inputShape], 0, 1, 'float32', 7) as tfc.Tensor4D;
  const forward = compile(
    tf,
    ([input]) => ({ logits: model.apply(input as tfc.Tensor4D, { training: false }).logits }),
    {
      mode,
      log: () => {},
    },
  );
  const once = async () => {
    const start = performance.now();
    const logits = forward.run([x]).logits;
    await logits.data();
    logits.dispose();
    return (performance.now() - start) / 1000;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) times.push(await once());
  forward.dispose();
  x.dispose();
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return { batch, repeats, median_seconds: median, images_per_sec: batch / median };
}

/** Batch size of the onnxruntime throughput figure. */
export const ONNX_THROUGHPUT_BATCH = 128;

export interface OnnxTiming {
  runtime: string;
  /** Intra-op threads onnxruntime ran with. */
  threads: number;
  /** Median wall time of one batch-1 forward pass, and the fastest and slowest pass. */
  latency_seconds: number;
  latency_range_seconds: [number, number];
  latency_repeats: number;
  batch: number;
  repeats: number;
  /** Median wall time of one forward pass of `batch` images, and the images per second it gives. */
  median_seconds: number;
  range_seconds: [number, number];
  images_per_sec: number;
}

/**
 * The model exported to ONNX and timed in onnxruntime (CPU, one session, `threads` intra-op threads): median batch-1
 * latency over 4× `repeats` passes and median batch-128 time over `repeats` passes, each after one warm-up pass.
 */
export async function timeOnnxInference(
  model: Model,
  repeats: number,
  threads = availableParallelism(),
): Promise<OnnxTiming> {
  const { encodeModelGraph, openSession, runLogits } = await import('../models/onnx/runtime.js');
  const session = await openSession(encodeModelGraph(model), threads);
  const [h, w, c] = model.inputShape;
  let seed = 7;
  const random = (n: number) =>
    Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
  const timed = async (batch: number, times: number) => {
    const x = random(batch * c * h * w);
    await runLogits(session, x, [batch, c, h, w]);
    const seconds: number[] = [];
    for (let i = 0; i < times; i++) {
      const start = performance.now();
      await runLogits(session, x, [batch, c, h, w]);
      seconds.push((performance.now() - start) / 1000);
    }
    seconds.sort((a, b) => a - b);
    return { median: seconds[Math.floor(times / 2)], range: [seconds[0], seconds[times - 1]] as [number, number] };
  };
  try {
    const latency = await timed(1, 4 * repeats);
    const batchTime = await timed(ONNX_THROUGHPUT_BATCH, repeats);
    const version = (await import('onnxruntime-node')).env.versions.common;
    return {
      runtime: `onnxruntime-node ${version} (cpu)`,
      threads,
      latency_seconds: latency.median,
      latency_range_seconds: latency.range,
      latency_repeats: 4 * repeats,
      batch: ONNX_THROUGHPUT_BATCH,
      repeats,
      median_seconds: batchTime.median,
      range_seconds: batchTime.range,
      images_per_sec: ONNX_THROUGHPUT_BATCH / batchTime.median,
    };
  } finally {
    await session.release();
  }
}
