import { join, resolve } from 'node:path';
import type * as tfc from '@tensorflow/tfjs-core';
import type { ExperimentConfig } from '../registry/experiment.js';
import type { DistillationParams, DistillStage, LossTerm } from './distill-plan.js';
import { softmaxCrossEntropy } from './losses.js';
import { buildComponent, buildModel, context, type BuildOptions, type BuiltExperiment } from './build.js';
import { runEvaluations } from './evaluate.js';
import { assertNotBusy } from '../run/lock.js';
import { timeInference, timeOnnxInference } from './inference-timing.js';
import { loadTrainedRun } from './trained-run.js';
import { parameterCount } from '../models/nn.js';
import { train, type StopFlag, type TrainOutcome } from './trainer.js';
import type { Loss, Optimizer, Schedule } from './types.js';
import type { Model, ModelOutput, NamedVariable } from '../models/types.js';

export interface DistillOptions {
  config: ExperimentConfig;
  plan: DistillationParams;
  built: BuiltExperiment;
  buildOptions: BuildOptions;
  runDir: string;
  tf: typeof tfc;
  log: (line: string) => void;
  stop: StopFlag;
  configText: string;
}

export interface DistillOutcome {
  status: TrainOutcome['status'];
  /** Training totals over the teacher (when trained here) and every stage of this session. */
  training: Pick<TrainOutcome, 'globalStep' | 'trainImagesPerSec' | 'trainImages' | 'trainSeconds' | 'seconds'>;
  student: Model;
  teacherMetrics: Record<string, number>;
  stages: Record<string, Record<string, number>>;
  comparison: Record<string, unknown>;
}

/**
 * The student sees the batch and runs the frozen teacher on it once per step; the teacher's taps travel in the
 * student's output under `teacher/<name>`, so every loss term that reads them shares one teacher forward pass.
 * No gradient reaches the teacher: only the stage's student variables are differentiated.
 */
function withTeacher(student: Model, teacher: Model, teacherTraining: boolean): Model {
  return {
    name: student.name,
    inputShape: student.inputShape,
    numClasses: student.numClasses,
    variables: student.variables,
    tapNames: student.tapNames,
    stages: student.stages,
    flops: () => student.flops(),
    dispose: () => student.dispose(),
    apply(x, opts) {
      const t = teacher.apply(x, {
        training: opts.training && teacherTraining,
        updateStats: opts.training && teacherTraining,
      });
      const s = student.apply(x, opts);
      const taps: Record<string, tfc.Tensor> = { ...s.taps };
      for (const [k, v] of Object.entries(t.taps)) taps[`teacher/${k}`] = v;
      taps['teacher/logits'] = t.logits;
      return { ...s, taps };
    },
  };
}

function stageLoss(tf: typeof tfc, terms: LossTerm[]): Loss {
  return {
    compute(out: ModelOutput, labels, numClasses) {
      const parts: Record<string, tfc.Scalar> = {};
      let total: tfc.Scalar = tf.scalar(0);
      for (const term of terms) {
        let value: tfc.Scalar;
        if (term.kind === 'l1') {
          value = tf.mean(tf.abs(tf.sub(out.taps[`teacher/${term.at}`], out.taps[term.at]))) as tfc.Scalar;
          parts[`l1_${term.at}`] = value;
        } else if (term.kind === 'cross-entropy') {
          value = softmaxCrossEntropy(tf, out.logits, labels, numClasses);
          parts.cross_entropy = value;
        } else {
          const T = term.temperature;
          const p = tf.softmax(tf.div(out.taps['teacher/logits'], T));
          const logq = tf.logSoftmax(tf.div(out.logits, T));
          value = tf.mul(tf.mean(tf.sum(tf.mul(p, tf.sub(tf.log(tf.add(p, 1e-12)), logq)), 1)), T * T) as tfc.Scalar;
          parts.kl = value;
        }
        total = tf.add(total, tf.mul(value, term.weight));
      }
      return { total, parts };
    },
  };
}

/** Variables a stage trains: those of the named model parts, or all trainable ones. */
export function stageVariables(model: Model, stage: Pick<DistillStage, 'train'>): NamedVariable[] {
  const trainable = model.variables.filter((v) => v.trainable);
  if (stage.train.includes('all')) return trainable;
  const names = new Set(stage.train.flatMap((part) => model.stages?.[part] ?? []));
  return trainable.filter((v) => names.has(v.name));
}

function copyWeights(from: Model, to: Model): number {
  const source = new Map(from.variables.map((v) => [v.name, v.variable]));
  let copied = 0;
  for (const v of to.variables) {
    const s = source.get(v.name);
    if (s && s.shape.join() === v.variable.shape.join()) {
      v.variable.assign(s);
      copied++;
    }
  }
  return copied;
}

/** Teacher first (trained here or loaded from a finished run), then each stage on the student, then the comparison. */
export async function distill(o: DistillOptions): Promise<DistillOutcome> {
  const { tf, config, plan, built, log } = o;
  const teacher = built.model;
  const started = performance.now();
  const runs: TrainOutcome[] = [];
  const training = (): DistillOutcome['training'] => {
    const trainImages = runs.reduce((a, r) => a + r.trainImages, 0);
    const trainSeconds = runs.reduce((a, r) => a + r.trainSeconds, 0);
    const globalStep = runs.reduce((a, r) => a + r.globalStep, 0);
    return {
      globalStep,
      trainImages,
      trainSeconds,
      trainImagesPerSec: trainSeconds > 0 ? trainImages / trainSeconds : 0,
      seconds: (performance.now() - started) / 1000,
    };
  };
  let teacherMetrics: Record<string, number> = {};
  if ('run' in plan.teacher) {
    const teacherRun = resolve(plan.teacher.run);
    assertNotBusy(teacherRun, 'use it as a teacher');
    await loadTrainedRun(teacher, teacherRun, o.buildOptions, `teacher run ${plan.teacher.run}`);
    log(`teacher loaded from ${plan.teacher.run}`);
  } else {
    const out = await train({
      config,
      built,
      runDir: o.runDir,
      tf,
      log,
      stop: o.stop,
      configText: o.configText,
      tagPrefix: 'teacher/',
      checkpointDir: join(o.runDir, 'teacher'),
    });
    runs.push(out);
    if (out.status !== 'done')
      return {
        status: out.status,
        training: training(),
        student: teacher,
        teacherMetrics: out.last,
        stages: {},
        comparison: {},
      };
  }
  // The config's evaluations on each model, as the loop runs them: the first one's error is the comparison's.
  const evaluateModel = (model: Model) =>
    runEvaluations(built.evaluators, {
      tf,
      model,
      loss: built.loss,
      dataset: built.dataset,
      transforms: built.testTransforms,
    });
  const teacherEval = await evaluateModel(teacher);
  teacherMetrics = teacherEval.metrics;
  const ev = teacherEval.results[0];

  const studentSection = { ...config.model, ...plan.student } as ExperimentConfig['model'];
  const student = await buildModel(config, o.buildOptions, built.inputShape, built.dataset.numClasses, studentSection);
  if (plan.init_from_teacher)
    log(
      `student initialised from the teacher: ${copyWeights(teacher, student)} of ${student.variables.length} variables copied by name`,
    );
  const pair = withTeacher(student, teacher, plan.teacher_batchnorm === 'train');
  const stages: Record<string, Record<string, number>> = {};
  for (const stage of plan.stages) {
    const ctx = context(config, o.buildOptions, { epochs: stage.epochs });
    const optimizer = await buildComponent<Optimizer>('optimizer', stage.optimizer, ctx);
    const schedule = await buildComponent<Schedule>('schedule', stage.schedule, ctx);
    const trainable = stageVariables(student, stage);
    log(
      `stage ${stage.name}: training ${trainable.length} variables (${stage.train.join(', ')}) for ${stage.epochs} epochs`,
    );
    const stageConfig = { ...config, train: { ...config.train, epochs: stage.epochs } };
    const out = await train({
      config: stageConfig,
      built: { ...built, model: pair, optimizer, schedule, loss: stageLoss(tf, stage.loss), callbacks: [] },
      runDir: o.runDir,
      tf,
      log,
      stop: o.stop,
      configText: o.configText,
      trainable,
      tagPrefix: `${stage.name}/`,
      checkpointDir: join(o.runDir, 'stages', stage.name),
    });
    optimizer.dispose();
    runs.push(out);
    stages[stage.name] = out.last;
    if (out.status !== 'done')
      return { status: out.status, training: training(), student, teacherMetrics, stages, comparison: {} };
  }
  const sEval = (await evaluateModel(student)).results[0];
  const tTime = await timeInference(tf, teacher, plan.timing_batch, plan.timing_repeats, config.train.compile);
  const sTime = await timeInference(tf, student, plan.timing_batch, plan.timing_repeats, config.train.compile);
  const tOrt = await timeOnnxInference(teacher, plan.timing_repeats);
  const sOrt = await timeOnnxInference(student, plan.timing_repeats);
  const comparison = {
    teacher: {
      accuracy: 1 - ev.error,
      params: parameterCount(teacher.variables),
      flops: teacher.flops(),
      inference: tTime,
      onnxruntime: tOrt,
    },
    student: {
      accuracy: 1 - sEval.error,
      params: parameterCount(student.variables),
      flops: student.flops(),
      inference: sTime,
      onnxruntime: sOrt,
    },
    accuracy_difference: ev.error - sEval.error,
    inference_time_ratio: sTime.median_seconds / tTime.median_seconds,
    onnxruntime_latency_ratio: sOrt.latency_seconds / tOrt.latency_seconds,
    onnxruntime_time_ratio: sOrt.median_seconds / tOrt.median_seconds,
  };
  log(
    `teacher ${(100 * (1 - ev.error)).toFixed(2)}% in ${tTime.median_seconds.toFixed(3)} s/batch; student ${(100 * (1 - sEval.error)).toFixed(2)}% in ${sTime.median_seconds.toFixed(3)} s/batch (time ×${comparison.inference_time_ratio.toFixed(3)}); ` +
      `onnxruntime batch 1: ${(1000 * tOrt.latency_seconds).toFixed(2)} → ${(1000 * sOrt.latency_seconds).toFixed(2)} ms (×${comparison.onnxruntime_latency_ratio.toFixed(3)}), ` +
      `batch ${sOrt.batch}: ${tOrt.images_per_sec.toFixed(0)} → ${sOrt.images_per_sec.toFixed(0)} img/s (time ×${comparison.onnxruntime_time_ratio.toFixed(3)})`,
  );
  return { status: 'done', training: training(), student, teacherMetrics, stages, comparison };
}
