import type * as tfc from '@tensorflow/tfjs-core';
import type { HostBatch } from '../data/batch.js';
import type { BuiltExperiment } from './build.js';
import { misses } from './evaluate.js';
import type { NamedVariable } from '../models/types.js';
import { compile, type CompileMode } from '../backends/compile.js';
import type { DataParallel } from './data-parallel.js';

/** What a step reads of a pipeline batch: NHWC pixels and class ids on the host. */
export type StepBatch = Pick<HostBatch, 'x' | 'y' | 'shape'>;

/**
 * One step's readings by name, still on the device: `loss` (mean over the batch), `misses` (top-1 count), and per
 * residual gate `<block>/gate`, `<block>/abs_max`, `<block>/abs_mean`. The loop reads them in bulk, not per step.
 */
export type StepReadings = Record<string, tfc.Tensor>;

/** One optimisation step: forward, loss, backward, weight decay and update; the caller owns the returned readings. */
export type TrainStep = (batch: StepBatch, lr: number, globalStep: number) => StepReadings;

/**
 * Forward, loss, backward, weight decay and the update on device tensors; the learning rate may be a scalar tensor.
 * Data-parallel, the gradients are averaged over the ranks before the update and the readings are the global batch's.
 */
function stepBody(
  tf: typeof tfc,
  built: Pick<BuiltExperiment, 'model' | 'loss' | 'optimizer'>,
  trainable: NamedVariable[],
  parallel?: DataParallel,
) {
  const { model, loss, optimizer } = built;
  const byTfName = new Map(trainable.map((v) => [v.variable.name, v]));
  return (x: tfc.Tensor4D, y: tfc.Tensor1D, lr: tfc.Scalar, globalStep: tfc.Scalar): StepReadings => {
    const readings: StepReadings = {};
    const { value, grads } = tf.variableGrads(
      () => {
        const out = model.apply(x, { training: true, updateStats: true });
        const { total } = loss.compute(out, y, model.numClasses);
        readings.misses = tf.keep(tf.squeeze(tf.slice(misses(tf, out.logits, y), [0], [1])));
        for (const g of out.gates) {
          readings[`${g.block}/gate`] = tf.keep(g.gate);
          readings[`${g.block}/abs_max`] = tf.keep(g.absMax);
          readings[`${g.block}/abs_mean`] = tf.keep(g.absMean);
        }
        return total;
      },
      trainable.map((v) => v.variable),
    );
    const named: Record<string, tfc.Tensor> = {};
    for (const [tfName, g] of Object.entries(grads)) named[byTfName.get(tfName)!.name] = g;
    optimizer.step(trainable, parallel ? parallel.averageGradients(trainable, named) : named, lr, globalStep);
    readings.loss = value;
    if (!parallel) return readings;
    const global = parallel.globalReadings(readings);
    tf.dispose(Object.values(readings));
    return global;
  };
}

/** A step with a say in how it runs: the loop tells it when state it reads from JavaScript may have changed. */
export interface Stepper {
  run: TrainStep;
  /** Which path ran the last step, and why: for the run log and env.json. */
  describe(): string;
  /** Callbacks ran (an epoch starts): a captured step is captured anew. */
  invalidate(): void;
  dispose(): void;
}

/**
 * The training step as `train.compile` asks for it (see backends/compile.ts): the pixels, labels, learning rate and
 * global step are its inputs, so a captured step replays with the same results as the eager one.
 */
export function stepFor(
  tf: typeof tfc,
  built: Pick<BuiltExperiment, 'model' | 'loss' | 'optimizer'>,
  trainable: NamedVariable[],
  mode: CompileMode,
  log: (line: string) => void,
  parallel?: DataParallel,
): Stepper {
  const body = stepBody(tf, built, trainable, parallel);
  const compiled = compile(
    tf,
    ([x, y, lr, globalStep]) => body(x as tfc.Tensor4D, y as tfc.Tensor1D, lr as tfc.Scalar, globalStep as tfc.Scalar),
    { mode, log },
  );
  return {
    run: (b, lr, globalStep) => {
      const inputs = [tf.tensor4d(b.x, b.shape), tf.tensor1d(b.y, 'int32'), tf.scalar(lr), tf.scalar(globalStep)];
      try {
        return compiled.run(inputs);
      } finally {
        tf.dispose(inputs);
      }
    },
    describe: () => compiled.describe(),
    invalidate: () => compiled.invalidate(),
    dispose: () => compiled.dispose(),
  };
}

/** Host values of the steps read so far, in step order. */
export interface ReadStep {
  images: number;
  values: Record<string, number>;
}

/**
 * Readings of the steps since the last read, kept on the device: a step costs no host synchronisation, and one
 * transfer at the progress cadence (and at epoch end, before a checkpoint) brings them all back in order.
 */
export class PendingReadings {
  private steps: { images: number; readings: StepReadings }[] = [];

  constructor(private readonly tf: typeof tfc) {}

  get length(): number {
    return this.steps.length;
  }

  push(images: number, readings: StepReadings): void {
    this.steps.push({ images, readings });
  }

  /** Reads every pending step in one transfer and frees their tensors. */
  read(): ReadStep[] {
    if (!this.steps.length) return [];
    const tf = this.tf;
    const names = this.steps.map((s) => Object.keys(s.readings));
    const flat = tf.tidy(() =>
      tf.concat(this.steps.flatMap((s, i) => names[i].map((k) => tf.reshape(s.readings[k], [-1])))),
    );
    const values = flat.dataSync();
    flat.dispose();
    let at = 0;
    const out = this.steps.map((s, i) => {
      const v: Record<string, number> = {};
      for (const k of names[i]) v[k] = values[at++];
      for (const t of Object.values(s.readings)) t.dispose();
      return { images: s.images, values: v };
    });
    this.steps = [];
    return out;
  }

  dispose(): void {
    for (const s of this.steps) for (const t of Object.values(s.readings)) t.dispose();
    this.steps = [];
  }
}
