import type * as tfc from '@tensorflow/tfjs-core';
import type { BuildContext, Kind } from '../registry/component.js';
import type { Registry } from '../registry/registry.js';
import type { ExperimentConfig, ComponentSection } from '../registry/experiment.js';
import type { Callback, Evaluator, EvaluatorFacts, Loss, Optimizer, Schedule } from './types.js';
import type { DatasetSplits, ImageSet, RawImage, Transform } from '../data/types.js';
import { DamagedImageError } from '../data/decode-image.js';
import { imageFile } from '../data/image-set.js';
import { resolveTransforms, type ResolvedTransform } from '../data/transform-chain.js';
import type { Model } from '../models/types.js';
import { withTowers } from '../models/towers.js';

/** Everything an experiment's config names, built. */
export interface BuiltExperiment {
  dataset: DatasetSplits;
  /** The config's transforms resolved through the registry that built the experiment (plugins included). */
  trainTransforms: ResolvedTransform[];
  testTransforms: ResolvedTransform[];
  inputShape: [number, number, number];
  model: Model;
  optimizer: Optimizer;
  schedule: Schedule;
  loss: Loss;
  callbacks: Callback[];
  /** The config's `evaluations`, in order. */
  evaluators: Evaluator[];
}

export interface BuildOptions {
  tf: typeof tfc;
  /** Built-in components plus the config's plugins: every component is built through it. */
  registry: Registry;
  configDir: string;
  log: (line: string) => void;
  /** Ranks of a data-parallel run: each builds its share of train.towers, which counts the towers of all of them. */
  ranks?: number;
}

type Context = BuildContext & { registry: Registry };

export async function buildComponent<T>(kind: Kind, section: ComponentSection, ctx: Context): Promise<T> {
  const { type, ...params } = section;
  return (await ctx.registry.get(kind, type).build(params as never, ctx)) as T;
}

export function context(config: ExperimentConfig, opts: BuildOptions, facts: Record<string, unknown> = {}): Context {
  return { tf: opts.tf, seed: config.seed, configDir: opts.configDir, facts, log: opts.log, registry: opts.registry };
}

/** Shape of the images the model sees: the dataset's shape through each training transform. */
export async function transformedShape(
  dataset: DatasetSplits,
  sections: ComponentSection[],
  ctx: Context,
): Promise<[number, number, number]> {
  const first = dataset.train.shape ? null : firstImage(dataset.train);
  let shape: [number, number, number] = dataset.train.shape ?? [first!.height, first!.width, first!.channels];
  for (const section of sections)
    shape = (await buildComponent<Transform>('transform', section, ctx)).outputShape(shape);
  return shape;
}

/** The first training image that decodes: with `on_damaged: skip`, damaged ones are passed over, as training does. */
function firstImage(set: ImageSet): RawImage {
  for (let i = 0; ; i++) {
    try {
      return set.image(i);
    } catch (err) {
      if (!(err instanceof DamagedImageError && imageFile(set, i)?.onDamaged === 'skip') || i + 1 >= set.size)
        throw err;
    }
  }
}

export async function buildDataset(config: ExperimentConfig, opts: BuildOptions): Promise<DatasetSplits> {
  return buildComponent<DatasetSplits>('dataset', config.dataset, context(config, opts));
}

export async function buildModel(
  config: ExperimentConfig,
  opts: BuildOptions,
  inputShape: [number, number, number],
  numClasses: number,
  modelSection = config.model,
): Promise<Model> {
  return buildComponent<Model>('model', modelSection, context(config, opts, { inputShape, numClasses }));
}

export async function buildExperiment(config: ExperimentConfig, opts: BuildOptions): Promise<BuiltExperiment> {
  const dataset = await buildDataset(config, opts);
  const trainTransforms = resolveTransforms(opts.registry, config.transforms?.train ?? []);
  const testTransforms = resolveTransforms(opts.registry, config.transforms?.test ?? []);
  const base = context(config, opts, { epochs: config.train.epochs });
  const inputShape = await transformedShape(dataset, config.transforms?.train ?? [], base);
  const model = withTowers(
    opts.tf,
    await buildModel(config, opts, inputShape, dataset.numClasses),
    Math.max(1, (config.train.towers ?? 1) / (opts.ranks ?? 1)),
  );
  const optimizer = await buildComponent<Optimizer>('optimizer', config.optimizer, base);
  const schedule = await buildComponent<Schedule>('schedule', config.schedule, base);
  const loss = await buildComponent<Loss>('loss', config.loss, base);
  const callbacks: Callback[] = [];
  for (const c of config.callbacks ?? []) callbacks.push(await buildComponent<Callback>('callback', c, base));
  const evaluators = await buildEvaluators(config, opts);
  return {
    dataset,
    trainTransforms,
    testTransforms,
    inputShape,
    model,
    optimizer,
    schedule,
    loss,
    callbacks,
    evaluators,
  };
}

/** The config's evaluations, each told its name and the `train` section's cadence and batch size. */
export async function buildEvaluators(config: ExperimentConfig, opts: BuildOptions): Promise<Evaluator[]> {
  const evaluators: Evaluator[] = [];
  for (const [name, section] of Object.entries(config.evaluations)) {
    const evaluation: EvaluatorFacts = {
      name,
      every: config.train.eval_every,
      batchSize: config.train.eval_batch_size,
      compile: config.train.compile,
    };
    evaluators.push(await buildComponent<Evaluator>('evaluator', section, context(config, opts, { evaluation })));
  }
  return evaluators;
}
