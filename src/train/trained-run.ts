import { join, resolve } from 'node:path';
import type * as tfc from '@tensorflow/tfjs-core';
import { selectBackend, type SelectedBackend } from '../backends/select.js';
import type { DatasetSplits } from '../data/types.js';
import type { Model } from '../models/types.js';
import type { ComponentSection, ExperimentConfig } from '../registry/experiment.js';
import type { Registry } from '../registry/registry.js';
import { loadLatestCheckpoint } from '../run/checkpoint.js';
import { assignSavedWeights, readExportedModel, type ExportedModel } from '../run/model-files.js';
import { locateRunModel, readConfigDir, readMetrics, readResult, readRunConfig } from '../run/run-folder.js';
import { UsageError } from '../util/errors.js';
import { buildComponent, buildDataset, buildModel, context, transformedShape, type BuildOptions } from './build.js';
import type { Callback } from './types.js';

/** A trained run's network rebuilt as its last epoch left it, with what evaluating or exporting it needs. */
export interface TrainedRun {
  runDir: string;
  /** Where exports of this model go: the model folder, or `<run>/teacher` for a distillation run's teacher. */
  outDir: string;
  config: ExperimentConfig;
  /** The model section the weights belong to (a compressed model's own structure, or the teacher's). */
  section: ComponentSection;
  backend: SelectedBackend;
  tf: typeof tfc;
  build: BuildOptions;
  dataset: DatasetSplits;
  inputShape: [number, number, number];
  model: Model;
  /** Epochs the run trained: what the callbacks' onReopen set the model's state from. */
  epochsDone: number;
}

export interface OpenOptions {
  /** Built-in components plus the run's plugins: the transforms and callbacks are built through it. */
  registry: Registry;
  log: (line: string) => void;
  /** A distillation run's teacher instead of its student (`target` must be the run folder). */
  teacher?: boolean;
}

/**
 * The one way to rebuild a trained run (eval, compress, export, repro's comparison): `target` is a run folder (its
 * model/) or a model folder inside one (compressed/). Weights are assigned and every callback's onReopen applied.
 */
export async function openTrainedRun(target: string, o: OpenOptions): Promise<TrainedRun> {
  const { runDir, modelDir } = locateRunModel(target);
  if (o.teacher && runDir !== target) throw new UsageError('--teacher takes the run folder itself');
  const config = readRunConfig(runDir, o.registry);
  const { section, saved, outDir, source } = o.teacher ? teacherWeights(runDir, config) : savedModel(runDir, modelDir);
  const backend = await selectBackend(config.backend, { device: config.device });
  const tf = backend.tf;
  const build: BuildOptions = { tf, configDir: readConfigDir(runDir), log: o.log, registry: o.registry };
  const dataset = await buildDataset(config, build);
  const inputShape = await transformedShape(dataset, config.transforms.train, context(config, build));
  const model = await buildModel(config, build, inputShape, dataset.numClasses, section);
  assignSavedWeights(tf, model.variables, saved, saved.dir);
  const epochsDone = await reopenState(model, source.config, source.runDir, { ...build, configDir: source.configDir });
  return { runDir, outDir, config, section, backend, tf, build, dataset, inputShape, model, epochsDone };
}

/**
 * Loads a finished run's weights into `model` (a distillation teacher named by `teacher.run`) and applies that run's
 * callbacks' onReopen, as openTrainedRun does.
 */
export async function loadTrainedRun(model: Model, runDir: string, build: BuildOptions, what: string): Promise<void> {
  assignSavedWeights(build.tf, model.variables, readExportedModel(join(runDir, 'model')), what);
  await reopenState(model, readRunConfig(runDir), runDir, { ...build, configDir: readConfigDir(runDir) });
}

interface Weights {
  section: ComponentSection;
  saved: ExportedModel;
  outDir: string;
  /** The run whose config and epochs the weights were trained under. */
  source: { runDir: string; config: ExperimentConfig; configDir: string };
}

function savedModel(runDir: string, modelDir: string): Weights {
  const saved = readExportedModel(modelDir);
  const source = { runDir, config: readRunConfig(runDir), configDir: readConfigDir(runDir) };
  return { section: saved.topology.model as ComponentSection, saved, outDir: modelDir, source };
}

/**
 * A distillation run's teacher: the run it was loaded from, or the last checkpoint of the teacher trained in the run
 * (which the trainer writes at the teacher's last epoch).
 */
function teacherWeights(runDir: string, config: ExperimentConfig): Weights {
  const plan = config.distillation as { teacher?: { run?: string } } | undefined;
  if (!plan) throw new UsageError(`--teacher needs a distillation run; ${runDir} trained one model`);
  const outDir = join(runDir, 'teacher');
  if (plan.teacher?.run) {
    const teacherRun = resolve(plan.teacher.run);
    return { ...savedModel(teacherRun, join(teacherRun, 'model')), section: config.model, outDir };
  }
  const checkpoint = loadLatestCheckpoint(outDir);
  if (!checkpoint)
    throw new UsageError(
      `${runDir} has no teacher checkpoint (teacher/checkpoints): has its teacher finished training?`,
    );
  const values = new Map(
    [...checkpoint.values].filter(([k]) => k.startsWith('model/')).map(([k, v]) => [k.slice('model/'.length), v]),
  );
  const source = { runDir: outDir, config, configDir: readConfigDir(runDir) };
  return { section: config.model, saved: { dir: checkpoint.path, topology: {}, values }, outDir, source };
}

/** Epochs a run trained: result.json's count, else its last epoch line in metrics.jsonl, else the config's epochs. */
function epochsTrained(runDir: string, config: ExperimentConfig): number {
  const result = readResult(runDir);
  if (result) return result.epochs_done;
  const last = readMetrics(runDir)
    .filter((l) => !('stage' in l))
    .at(-1);
  return typeof last?.epoch === 'number' ? last.epoch : config.train.epochs;
}

/** Builds the run's callbacks and lets each set what saved weights do not hold; returns the epochs it used. */
async function reopenState(
  model: Model,
  config: ExperimentConfig,
  runDir: string,
  build: BuildOptions,
): Promise<number> {
  const epoch = epochsTrained(runDir, config);
  const ctx = context(config, build, { epochs: config.train.epochs });
  for (const section of config.callbacks ?? []) {
    const callback = await buildComponent<Callback>('callback', section, ctx);
    callback.onReopen?.({ tf: build.tf, model, epoch, log: build.log });
  }
  return epoch;
}
