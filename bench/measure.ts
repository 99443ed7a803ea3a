import { Value } from '@sinclair/typebox/value';
import type * as tfc from '@tensorflow/tfjs-core';
import { selectBackend, type BackendName } from '../src/backends/select.js';
import { memorySnapshot } from '../src/backends/memory.js';
import { preactResnet } from '../src/components/model/preact-resnet.js';
import { crossEntropy } from '../src/components/loss/cross-entropy.js';
import { momentum } from '../src/components/optimizer/momentum.js';
import { InputPipeline } from '../src/data/pipeline.js';
import { resolveTransforms } from '../src/data/transform-chain.js';
import { builtinRegistry } from '../src/components/index.js';
import { syntheticImages } from '../src/data/synthetic.js';
import type { BuildContext } from '../src/registry/component.js';
import type { StepBatch } from '../src/train/step.js';

export interface MeasureOptions {
  backend: BackendName;
  trainBatch: number;
  inferBatch: number;
  /** 0 skips the large-batch inference figure. */
  bigBatch: number;
  steps: number;
}

export interface BackendFigures {
  backend: string;
  ok: boolean;
  why: string;
  trainBatch?: number;
  inferBatch?: number;
  bigBatch?: number;
  params?: number;
  trainImgPerSec?: number;
  inferImgPerSec?: number;
  inferBigImgPerSec?: number;
  /** Share of a training step spent waiting for the input pipeline (CIFAR augmentation, one worker, as the trainer runs it). */
  pipelineShare?: number;
  /** Time to build one batch on the calling thread, without workers. */
  pipelineMsPerBatch?: number;
  /** Peak resident memory of the process after the training measurements, and after everything (batch-1024 inference). */
  trainPeakRssMiB?: number;
  peakRssMiB?: number;
  /** Live tensors added by the timed training steps: 0 means nothing leaks. */
  liveTensorsGrowth?: number;
}

const CIFAR_TRANSFORMS = resolveTransforms(builtinRegistry, [
  { type: 'per-pixel-mean', over: 'train' },
  { type: 'pad-crop', pad: 4 },
  { type: 'flip', horizontal: 0.5 },
]);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Seconds of each call after one warm-up call. */
async function timeCalls(n: number, fn: () => void | Promise<void>): Promise<number[]> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    times.push((performance.now() - t) / 1000);
  }
  return times;
}

/** Host batches of random pixels and labels, as the input pipeline hands them to the training step. */
export function hostBatch(n: number, seed: number): StepBatch {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const x = Float32Array.from({ length: n * 32 * 32 * 3 }, () => 2 * next() - 1);
  const y = Int32Array.from({ length: n }, () => Math.floor(10 * next()));
  return { x, y, shape: [n, 32, 32, 3] };
}

/**
 * The benchmark's network, loss and optimizer: pre-activation ResNet-20 for 32×32×3 images of 10 classes, softmax
 * cross-entropy, SGD with momentum 0.9 and weight decay 5e-4.
 */
export async function benchmarkParts(tf: typeof tfc) {
  const ctx: BuildContext = {
    tf,
    seed: 1,
    configDir: process.cwd(),
    facts: { inputShape: [32, 32, 3], numClasses: 10 },
    log: () => {},
  };
  const model = await preactResnet.build(Value.Default(preactResnet.params, { depth: 20 }) as never, ctx);
  const loss = await crossEntropy.build(Value.Default(crossEntropy.params, {}) as never, ctx);
  const optimizer = await momentum.build({ momentum: 0.9, nesterov: false, weight_decay: 5e-4 }, ctx);
  return { model, loss, optimizer };
}

/** Trains and runs the pre-activation ResNet-20 on random CIFAR-sized data on one backend and times it. */
export async function measureBackend(o: MeasureOptions): Promise<BackendFigures> {
  let selected;
  try {
    selected = await selectBackend(o.backend);
  } catch (err) {
    return { backend: o.backend, ok: false, why: (err as Error).message };
  }
  const tf = selected.tf;
  const { model, loss, optimizer } = await benchmarkParts(tf);
  const trainable = model.variables.filter((v) => v.trainable);
  const byTfName = new Map(trainable.map((v) => [v.variable.name, v.name]));

  const trainStep = (x: tfc.Tensor4D, y: tfc.Tensor1D) => {
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => loss.compute(model.apply(x, { training: true }), y, 10).total,
        trainable.map((v) => v.variable),
      );
      const named: Record<string, tfc.Tensor> = {};
      for (const [k, g] of Object.entries(grads)) named[byTfName.get(k)!] = g;
      optimizer.step(trainable, named, 0.1, 0);
      value.dataSync();
    });
  };
  const infer = (x: tfc.Tensor4D) => tf.tidy(() => void model.apply(x, { training: false }).logits.dataSync());
  const batch = (n: number, seed: number) => ({
    x: tf.randomNormal([n, 32, 32, 3], 0, 1, 'float32', seed) as tfc.Tensor4D,
    y: tf.randomUniformInt([n], 0, 10, seed) as tfc.Tensor1D,
  });

  const train = batch(o.trainBatch, 11);
  trainStep(train.x, train.y);
  const tensorsBefore = memorySnapshot(tf).numTensors;
  const trainTimes = await timeCalls(o.steps, () => trainStep(train.x, train.y));
  const liveTensorsGrowth = memorySnapshot(tf).numTensors - tensorsBefore;
  const pipeline = await pipelineFigures(o.trainBatch, trainStep, tf);
  const trainPeakRssMiB = memorySnapshot(tf).peakRssBytes / 2 ** 20;
  const test = batch(o.inferBatch, 12);
  const inferTimes = await timeCalls(o.steps, () => infer(test.x));
  let inferBigImgPerSec: number | undefined;
  if (o.bigBatch > 0) {
    const big = batch(o.bigBatch, 13);
    inferBigImgPerSec = o.bigBatch / median(await timeCalls(2, () => infer(big.x)));
    tf.dispose([big.x, big.y]);
  }
  tf.dispose([train.x, train.y, test.x, test.y]);
  return {
    backend: o.backend,
    ok: true,
    why: selected.attempts[0].why,
    trainBatch: o.trainBatch,
    inferBatch: o.inferBatch,
    bigBatch: o.bigBatch || undefined,
    params: trainable.reduce((n, v) => n + v.variable.size, 0),
    trainImgPerSec: o.trainBatch / median(trainTimes),
    inferImgPerSec: o.inferBatch / median(inferTimes),
    inferBigImgPerSec,
    ...pipeline,
    trainPeakRssMiB,
    peakRssMiB: memorySnapshot(tf).peakRssBytes / 2 ** 20,
    liveTensorsGrowth,
  };
}

/**
 * The input pipeline as the trainer runs it (one worker preparing batches ahead, CIFAR augmentation of 32×32×3 images):
 * the share of each step spent waiting for the next batch and turning it into tensors (after the first batch, which
 * also starts the worker), plus the cost of one batch built on the calling thread.
 */
async function pipelineFigures(batchSize: number, step: (x: tfc.Tensor4D, y: tfc.Tensor1D) => void, tf: typeof tfc) {
  const set = syntheticImages({
    size: batchSize * 4,
    numClasses: 10,
    shape: [32, 32, 3],
    noise: 20,
    seed: 1,
    split: 0,
  });
  const options = {
    set,
    transforms: CIFAR_TRANSFORMS,
    batchSize,
    shuffle: true,
    seed: 1,
    fit: { train: set },
    dropRemainder: true,
  };
  const inline = new InputPipeline({ ...options, workers: 0 });
  const inlineTimes: number[] = [];
  let t = performance.now();
  for await (const _ of inline.batches(0)) {
    inlineTimes.push((performance.now() - t) / 1000);
    t = performance.now();
  }
  inline.close();
  const threaded = new InputPipeline({ ...options, workers: 1 });
  let waiting = 0;
  let stepping = 0;
  let first = true;
  let t0 = performance.now();
  for await (const b of threaded.batches(0)) {
    const x = tf.tensor4d(b.x, b.shape);
    const y = tf.tensor1d(b.y, 'int32');
    const t1 = performance.now();
    step(x, y);
    tf.dispose([x, y]);
    if (!first) {
      waiting += t1 - t0;
      stepping += performance.now() - t1;
    }
    first = false;
    t0 = performance.now();
  }
  threaded.close();
  return { pipelineShare: waiting / (waiting + stepping), pipelineMsPerBatch: 1000 * median(inlineTimes.slice(1)) };
}
