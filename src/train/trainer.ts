import type * as tfc from '@tensorflow/tfjs-core';
import type { ExperimentConfig } from '../registry/experiment.js';
import { InputPipeline } from '../data/pipeline.js';
import { SummaryWriter } from '../tensorboard/writer.js';
import { dropEvents } from '../tensorboard/trim.js';
import { HPARAMS_TAG_PREFIX } from '../tensorboard/hparams.js';
import type { BuiltExperiment } from './build.js';
import { loadLatestCheckpoint, saveCheckpoint, type LoadedCheckpoint } from '../run/checkpoint.js';
import { InputError } from '../util/errors.js';
import { recordTrainStep } from '../run/env.js';
import { appendMetrics, trimMetrics } from '../run/run-folder.js';
import { EpsilonGates } from './epsilon-gates.js';
import { runEvaluations } from './evaluate.js';
import { EpochProgress } from './progress.js';
import { PendingReadings, stepFor, type Stepper, type TrainStep } from './step.js';
import type { Callback, EvaluationContext, FinalContext } from './types.js';
import type { NamedVariable } from '../models/types.js';
import type { DataParallel } from './data-parallel.js';

export type RunStatus = 'done' | 'interrupted' | 'diverged';

export interface StopFlag {
  requested: boolean;
  signal?: string;
}

export interface TrainOptions {
  config: ExperimentConfig;
  built: BuiltExperiment;
  runDir: string;
  tf: typeof tfc;
  log: (line: string) => void;
  stop: StopFlag;
  /** Training-time extra losses or frozen-variable sets come from distillation; plain runs leave these out. */
  trainable?: NamedVariable[];
  /** The resolved config as YAML, recorded as TensorBoard text on a fresh run. */
  configText: string;
  /** Prefix of every TensorBoard tag and metrics key group (distillation stages use `stage1/`...). */
  tagPrefix?: string;
  /** Where checkpoints live (distillation keeps one folder per stage). */
  checkpointDir?: string;
  /** The optimisation step (default: the step over `trainable` that `train.compile` asks for). */
  step?: TrainStep;
  /**
   * This process is one rank of a data-parallel run: it trains on its part of each batch (src/train/data-parallel.ts);
   * rank 0 alone writes the run folder (metrics, TensorBoard, checkpoints), the others read its checkpoint.
   */
  parallel?: DataParallel;
}

/** Sums over the steps of the epoch in progress; checkpointed so a run resumed mid-epoch reports the same metrics. */
interface EpochAccum {
  loss: number;
  misses: number;
  images: number;
  seconds: number;
}

interface TrainMeta {
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  accum: EpochAccum;
  schedule?: unknown;
  /** State of each stateful callback, by its name. */
  callbacks?: Record<string, unknown>;
}

export interface TrainOutcome {
  status: RunStatus;
  epochsDone: number;
  globalStep: number;
  last: Record<string, number>;
  trainImagesPerSec: number;
  /** Images trained on and seconds spent in training steps in this session (evaluation excluded). */
  trainImages: number;
  trainSeconds: number;
  seconds: number;
  /** What the callbacks add to result.json (ε-ResNet: evaluation_check, bn_recalibration). */
  records: Record<string, unknown>;
}

const emptyAccum = (): EpochAccum => ({ loss: 0, misses: 0, images: 0, seconds: 0 });

/**
 * The training loop: per-epoch training and evaluation, metrics, TensorBoard, checkpoints, resume and interrupts.
 * Method-specific work happens in callbacks (an ε schedule; EpsilonGates: gate tracking, batch-norm recalibration, the
 * batch-statistics check) and in trainers that call this loop (distillation); the step is a function it is given.
 */
export async function train(o: TrainOptions): Promise<TrainOutcome> {
  // --- Parts: the step, the callbacks (ε-ResNet's gate work among them) and the training batches.
  const { config, built, tf, runDir, log } = o;
  const { model, optimizer, schedule, callbacks, dataset } = built;
  const prefix = o.tagPrefix ?? '';
  const ckptDir = o.checkpointDir ?? runDir;
  const trainable = o.trainable ?? model.variables.filter((v) => v.trainable);
  const stepper: Stepper = o.step
    ? { run: o.step, describe: () => 'given by the caller', invalidate: () => {}, dispose: () => {} }
    : stepFor(tf, built, trainable, config.train.compile, (line) => log(`${prefix}${line}`), o.parallel);
  const ranks = o.parallel?.worldSize ?? 1;
  const leads = o.parallel?.leads ?? true;
  let stepPath = '';
  const hooks: Callback[] = [...callbacks, new EpsilonGates(config.train.bn_recalibration)];
  const pipeline = new InputPipeline({
    set: dataset.train,
    transforms: built.trainTransforms,
    batchSize: config.train.batch_size,
    shuffle: true,
    seed: config.seed,
    dropRemainder: config.train.drop_remainder,
    stepsPerEpoch: config.train.steps_per_epoch,
    workers: config.train.input_workers,
    log,
    fit: { train: dataset.train, test: dataset.test },
    shard: o.parallel && { index: o.parallel.rank, count: ranks },
  });
  const steps = pipeline.stepsPerEpoch();

  // --- Resume: the newest intact checkpoint, and records trimmed to it.
  let meta: TrainMeta = { epoch: 0, stepInEpoch: 0, globalStep: 0, accum: emptyAccum() };
  const resumed = loadLatestCheckpoint<TrainMeta>(ckptDir, log);
  if (resumed) {
    restoreTensors(tf, resumed, model.variables, optimizer);
    meta = resumed.meta;
    if (meta.schedule !== undefined) schedule.restore?.(meta.schedule);
    for (const h of hooks) if (h.name && meta.callbacks?.[h.name] !== undefined) h.restore?.(meta.callbacks[h.name]);
    log(`resuming from ${resumed.path} at epoch ${meta.epoch + 1}, step ${meta.stepInEpoch}`);
  }
  // What an earlier attempt recorded past the checkpoint (everything, when there is none) is recorded again below.
  let last = leads ? truncateMetrics(runDir, meta.epoch, prefix) : {};
  const ownTag = (tag: string) => (prefix ? tag.startsWith(prefix) : !tag.startsWith(HPARAMS_TAG_PREFIX));
  if (leads) dropEvents(runDir, (tag, step) => ownTag(tag) && (!resumed || step > meta.globalStep), log);
  const writer = leads ? new SummaryWriter(runDir) : null;
  if (!resumed && !prefix) writer?.text('config', '```yaml\n' + o.configText + '\n```', 0);

  // --- Step readings, read in bulk at the progress cadence, and checkpoints.
  const pending = new PendingReadings(tf);
  let diverged: string | null = null;
  /** Brings the pending step readings to the host: epoch sums, callbacks in step order, the first non-finite loss. */
  const readPending = (epoch: number): { loss: number; images: number } => {
    let loss = 0;
    let images = 0;
    const first = meta.stepInEpoch - pending.length;
    for (const [i, { images: n, values }] of pending.read().entries()) {
      if (diverged) continue;
      if (!Number.isFinite(values.loss)) {
        diverged = `${prefix}loss is ${values.loss} at epoch ${epoch + 1}, step ${first + i + 1}: stopping (status diverged)`;
        continue;
      }
      meta.accum.loss += values.loss * n;
      meta.accum.misses += values.misses;
      meta.accum.images += n;
      loss += values.loss * n;
      images += n;
      for (const h of hooks) h.onStep?.(values);
    }
    return { loss: images ? loss / images : NaN, images };
  };

  const checkpoint = async () => {
    if (!leads) return;
    const tensors: Record<string, tfc.Tensor> = {};
    for (const v of model.variables) tensors[`model/${v.name}`] = v.variable;
    for (const [k, v] of Object.entries(optimizer.slots())) tensors[`optimizer/${k}`] = v;
    meta.schedule = schedule.state?.();
    meta.callbacks = {
      ...meta.callbacks,
      ...Object.fromEntries(hooks.filter((h) => h.name && h.state).map((h) => [h.name!, h.state!()])),
    };
    await saveCheckpoint(ckptDir, meta.globalStep, tensors, meta);
  };

  // --- Epochs: train, evaluate, record, checkpoint.
  const trainStart = performance.now();
  let trainImages = 0;
  let trainSeconds = 0;
  let status: RunStatus = 'done';
  const evaluation = (batchStatistics: boolean): EvaluationContext => ({
    tf,
    model,
    loss: built.loss,
    dataset,
    transforms: built.testTransforms,
    batchStatistics,
  });
  const finalContext = (epoch: number): FinalContext => ({
    tf,
    model,
    epoch,
    log: (line) => log(`${prefix}${line}`),
    trainBatches: () => pipeline.batches(config.train.epochs, 0),
    evaluate: async ({ batchStatistics }) => {
      const [first] = built.evaluators;
      return { name: first.name, error: (await first.run(evaluation(batchStatistics))).error };
    },
  });
  try {
    epochs: for (let epoch = meta.epoch; epoch < config.train.epochs; epoch++) {
      const lr = schedule.valueFor(epoch);
      for (const h of hooks) h.onEpochStart?.({ tf, model, epoch, log });
      // Callbacks may change what the step reads from JavaScript: a captured step is captured anew.
      stepper.invalidate();
      const progress = new EpochProgress(`${prefix}epoch ${epoch + 1}/${config.train.epochs}`, steps, log);
      let t0 = performance.now();
      let lastRead = t0;
      const flush = () => {
        const read = readPending(epoch);
        const now = performance.now();
        meta.accum.seconds += (now - t0) / 1000;
        if (read.images)
          progress.tick(meta.stepInEpoch, { loss: read.loss, imgs: read.images / ((now - lastRead) / 1000) });
        t0 = lastRead = now;
      };
      for await (const b of pipeline.batches(epoch, meta.stepInEpoch)) {
        pending.push(
          b.shape[0] * ranks,
          stepper.run(b, schedule.valueAt?.(epoch, meta.stepInEpoch / steps) ?? lr, meta.globalStep),
        );
        // The step has disposed its input tensors: the pipeline may fill this batch's memory again.
        b.release?.();
        meta.stepInEpoch += 1;
        meta.globalStep += 1;
        if (progress.due(meta.stepInEpoch)) flush();
        if (diverged) break;
        // Batches that are ready resolve as microtasks, which never let signal handlers run: yield to the event loop.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (o.parallel ? o.parallel.anyStops(o.stop.requested) : o.stop.requested) {
          flush();
          if (diverged) break;
          progress.done();
          await checkpoint();
          const at = `epoch ${epoch + 1}, step ${meta.stepInEpoch}`;
          log(
            leads
              ? `${o.stop.signal ?? 'interrupt'}: checkpoint written at ${at}; resume with the same command`
              : `${o.stop.signal ?? 'interrupt'}: stopped at ${at} with rank 0, which wrote the checkpoint`,
          );
          status = 'interrupted';
          break epochs;
        }
      }
      flush();
      if (diverged) {
        progress.done();
        log(diverged);
        status = 'diverged';
        break epochs;
      }
      progress.done();
      if (stepper.describe() !== stepPath) {
        stepPath = stepper.describe();
        log(`${prefix}training step: ${stepPath}`);
        if (leads) recordTrainStep(runDir, prefix.replace(/\/$/, '') || 'train', stepPath);
      }
      const metrics: Record<string, number> = {
        epoch: epoch + 1,
        step: meta.globalStep,
        lr,
        train_loss: meta.accum.loss / meta.accum.images,
        train_error: meta.accum.misses / meta.accum.images,
        images_per_sec: meta.accum.images / meta.accum.seconds,
        epoch_seconds: meta.accum.seconds,
      };
      trainImages += meta.accum.images;
      trainSeconds += meta.accum.seconds;
      for (const h of hooks) Object.assign(metrics, h.report?.());
      const isLast = epoch + 1 === config.train.epochs;
      // Evaluation (rank 0 alone): each evaluator every `every` epochs and after the last, whose model callbacks may
      // finish and check first.
      if (leads && isLast) for (const h of hooks) await h.beforeFinalEvaluation?.(finalContext(epoch));
      const due = built.evaluators.filter((e) => (epoch + 1) % e.every === 0 || isLast);
      if (leads && due.length) Object.assign(metrics, (await runEvaluations(due, evaluation(false))).metrics);
      if (leads && isLast) for (const h of hooks) await h.afterFinalEvaluation?.(finalContext(epoch), metrics);
      if (o.parallel) Object.assign(metrics, o.parallel.followRankZero(model, metrics));
      metrics.live_tensors = tf.memory().numTensors;
      schedule.observe?.(epoch, metrics);
      for (const h of hooks) h.onEpochEnd?.({ tf, model, epoch, log }, metrics);
      for (const e of schedule.events?.() ?? []) {
        log(`${prefix}${e}`);
        writer?.text(`${prefix}events`, e, meta.globalStep);
      }
      if (writer) {
        writeEpoch(writer, runDir, prefix, metrics, meta.globalStep);
        if (config.train.histograms)
          for (const v of model.variables)
            writer.histogram(`${prefix}weights/${v.name}`, v.variable.dataSync() as Float32Array, meta.globalStep);
        writer.flush();
      }
      log([epochLine(prefix, metrics), ...hooks.map((h) => h.line?.(metrics) ?? '').filter(Boolean)].join('  '));
      last = metrics;
      meta.epoch = epoch + 1;
      meta.stepInEpoch = 0;
      meta.accum = emptyAccum();
      if (meta.epoch % config.train.checkpoint_every === 0 || meta.epoch === config.train.epochs) await checkpoint();
    }
  } finally {
    stepper.dispose();
    pending.dispose();
    pipeline.close();
    writer?.close();
  }
  return {
    status,
    epochsDone: meta.epoch,
    globalStep: meta.globalStep,
    last,
    trainImagesPerSec: trainSeconds > 0 ? trainImages / trainSeconds : 0,
    trainImages,
    trainSeconds,
    seconds: (performance.now() - trainStart) / 1000,
    records: Object.assign({}, ...hooks.map((h) => h.records?.() ?? {})),
  };
}

/** A checkpoint of another network (a config.json or a checkpoint swapped in by hand) is refused, never half-loaded. */
function restoreTensors(
  tf: typeof tfc,
  { path, values }: LoadedCheckpoint<TrainMeta>,
  vars: NamedVariable[],
  optimizer: BuiltExperiment['optimizer'],
): void {
  for (const v of vars) {
    const saved = values.get(`model/${v.name}`);
    const found = saved ? `[${saved.shape.join(', ')}]` : 'nothing';
    if (saved?.shape.join() !== v.variable.shape.join())
      throw new InputError(
        `${path} holds ${found} for ${v.name}, the config's network needs [${v.variable.shape.join(', ')}]: the checkpoint belongs to another network. Restore the run's own config.json and checkpoints, or start over with --force`,
      );
  }
  for (const v of vars) {
    const saved = values.get(`model/${v.name}`)!;
    v.variable.assign(tf.tensor(saved.data, saved.shape));
  }
  const slots: Record<string, tfc.Tensor> = {};
  for (const [k, s] of values)
    if (k.startsWith('optimizer/')) slots[k.slice('optimizer/'.length)] = tf.tensor(s.data, s.shape);
  optimizer.loadSlots(slots);
  for (const t of Object.values(slots)) t.dispose();
}

/**
 * Drop metric lines of epochs the checkpoint does not cover (all of the stage's without one), so a resumed run
 * appends each epoch exactly once; returns the last kept epoch's metrics of this stage (what a stage that already finished reports).
 */
function truncateMetrics(runDir: string, epochsDone: number, prefix: string): Record<string, number> {
  const stage = prefix.replace(/\/$/, '');
  const keep = trimMetrics(runDir, (m) => (m.stage ?? '') !== stage || (m.epoch as number) <= epochsDone);
  const { stage: _stage, ...metrics } = keep.filter((m) => (m.stage ?? '') === stage).at(-1) ?? {};
  return metrics as Record<string, number>;
}

function writeEpoch(
  writer: SummaryWriter,
  runDir: string,
  prefix: string,
  metrics: Record<string, number>,
  step: number,
): void {
  for (const [k, v] of Object.entries(metrics))
    if (k !== 'epoch' && k !== 'step') writer.scalar(prefix + tagFor(k), v, step);
  appendMetrics(runDir, prefix ? { stage: prefix.replace(/\/$/, ''), ...metrics } : metrics);
}

/** TensorBoard groups tags by their first path segment. */
function tagFor(key: string): string {
  if (key.includes('/')) return `blocks/${key}`;
  const [group, ...rest] = key.split('_');
  return ['train', 'test'].includes(group) ? `${group}/${rest.join('_')}` : key;
}

function epochLine(prefix: string, m: Record<string, number>): string {
  const pct = (v: number | undefined) => (v === undefined ? '–' : (100 * v).toFixed(2) + '%');
  const parts = [
    `${prefix}epoch ${m.epoch}`,
    `lr ${m.lr.toPrecision(3)}`,
    `loss ${m.train_loss.toFixed(4)}`,
    `train err ${pct(m.train_error)}`,
    `test err ${pct(m.test_error)}`,
    `top-5 ${pct(m.test_top5_error)}`,
    `${m.images_per_sec.toFixed(1)} img/s`,
  ];
  return parts.join('  ');
}
