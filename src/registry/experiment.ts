import { Type, type Static, type TObject } from '@sinclair/typebox';

/** Data-parallel training: one process per device (a rank), gradients averaged over them each step. */
export const DistributedSection = Type.Object(
  {
    ranks: Type.Integer({
      minimum: 1,
      default: 1,
      description:
        'Processes training together (`epsilab run --nproc N` sets it), exchanging gradients over Gloo (device cpu) or NCCL (device cuda): rank k takes cuda:k, or an equal share of the cores. train.batch_size is the total over the ranks, each trains an equal part; train.towers (when set) counts the towers of all ranks. Under srun or torchrun their environment sets the ranks instead.',
    }),
    timeout_s: Type.Number({
      exclusiveMinimum: 0,
      default: 300,
      description:
        'Watchdog: a rendezvous or a collective that waits this long for a rank fails, and the whole run stops naming the rank.',
    }),
  },
  { additionalProperties: false },
);
export type DistributedSection = Static<typeof DistributedSection>;

/**
 * The experiment's top-level sections other than components. The registry composes the full schema by adding
 * one tagged union per component kind (dataset, model, optimizer, schedule, loss, each transform, callback and evaluator).
 */
export const TrainSection = Type.Object(
  {
    epochs: Type.Integer({ minimum: 1, default: 10, description: 'Epochs to train.' }),
    batch_size: Type.Integer({ minimum: 1, default: 128, description: 'Training mini-batch size.' }),
    eval_batch_size: Type.Integer({
      minimum: 1,
      default: 256,
      description:
        'Evaluation batch size, of each evaluation that sets no `batch_size` of its own. It changes the measured error of an ε-ResNet that recomputes its gates (test_gate: recompute): a gate is a max over the whole evaluation batch. The original evaluates in batches of 128 (64 per tower on ImageNet); without gates it changes nothing.',
    }),
    drop_remainder: Type.Boolean({
      default: true,
      description: 'Drop the last incomplete training batch (tensorpack BatchData(remainder=False)).',
    }),
    eval_every: Type.Integer({
      minimum: 1,
      default: 1,
      description:
        'Run each evaluation (`evaluations`; by default the test split) every this many epochs (and after the last), unless it sets its own `every`.',
    }),
    checkpoint_every: Type.Integer({
      minimum: 1,
      default: 1,
      description: 'Write a checkpoint every this many epochs (and on interrupt).',
    }),
    histograms: Type.Boolean({ default: false, description: 'Write weight histograms to TensorBoard every epoch.' }),
    input_workers: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 0 })], {
      default: 'auto',
      description:
        'Worker threads preparing training batches ahead of the step: auto is one per core but one; 0 prepares them on the training thread. Batches do not depend on it.',
    }),
    threads: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          "Intra-op threads of the libtorch backend. Left out: EPSILAB_TORCH_THREADS, else one per core, divided among the processes sharing the machine's cores (a local sweep's trials at once, ranks on one machine), which then also wait passively (OMP_WAIT_POLICY=passive); set OMP_WAIT_POLICY yourself to choose the wait policy. env.json says what was chosen and why.",
      }),
    ),
    towers: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'Train as on this many GPUs (left out: 1): each training batch splits into this many equal groups, each with its own ε gates and batch-norm statistics; group 0 updates the moving averages and the is_discarded readings; gradients are averaged. batch_size is the total (ImageNet code: 4 towers of 64).',
      }),
    ),
    distributed: Type.Optional(DistributedSection),
    steps_per_epoch: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Cap on steps per epoch, for reduced-scale runs.' }),
    ),
    compile: Type.Union([Type.Literal('auto'), Type.Literal('off')], {
      default: 'auto',
      description:
        'auto: where the backend can (libtorch), capture one training step, and each evaluation forward pass, and replay it natively (same results, no per-kernel JavaScript); off: run every step eagerly. The run log and env.json say which ran and why.',
    }),
    bn_recalibration: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'After the last epoch, recompute every batch-norm moving average over this many training batches with each gated block held at its final gate (off where compress removes it), before the final evaluation and the saved model. The original code keeps the moving averages of training, which mix batches run under other gates; absent: off, as in the paper configs.',
      }),
    ),
  },
  { additionalProperties: false, default: {} },
);
export type TrainSection = Static<typeof TrainSection>;

export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'libtorch', 'wasm', 'cpu'] as const;

/** Fields every experiment has, whatever its components. */
export function experimentFields() {
  return {
    $schema: Type.Optional(Type.String({ description: 'Path of the JSON Schema, for editor completion.' })),
    experiment: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
      description: 'Name of the experiment; runs land in results/<experiment>/<run-id>/.',
    }),
    description: Type.Optional(Type.String({ description: 'Free text shown by `plan` and kept in the run folder.' })),
    seed: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Seed for initialisation, data order and augmentation.',
    }),
    backend: Type.Union(
      BACKENDS.map((b) => Type.Literal(b)),
      { default: 'auto', description: 'TensorFlow.js backend; auto takes the fastest that loads.' },
    ),
    device: Type.String({
      pattern: '^(cpu|cuda(:[0-9]+)?)$',
      default: 'cpu',
      description: 'Device of the libtorch backend: cpu, cuda or cuda:N (a CUDA build of libtorch on an NVIDIA GPU).',
    }),
    plugins: Type.Optional(
      Type.Array(Type.String(), { description: 'Files (relative to the config) that export extra components.' }),
    ),
    train: TrainSection,
    output: Type.Object(
      { root: Type.String({ default: 'results', description: 'Folder that holds results/<experiment>/<run-id>/.' }) },
      { additionalProperties: false, default: {} },
    ),
  };
}

import type { Kind } from './component.js';

/** A component as a config names it: its `type` plus its own parameters. */
export type ComponentSection = { type: string } & Record<string, unknown>;

/**
 * The experiment's component sections: `one` is a single component, `list` an ordered list of them, `split` a
 * `{train: [...], test: [...]}` pair of lists, `named` a mapping of names to components. `optional` sections may be
 * left out; the rest are required or default to empty lists, or to their `default`.
 */
export const SECTIONS = [
  { key: 'dataset', kind: 'dataset', shape: 'one', description: 'The data: a training and a test split.' },
  {
    key: 'transforms',
    kind: 'transform',
    shape: 'split',
    description:
      'Image transforms applied in order: `train` to training images (augmentation included), `test` to test images.',
  },
  { key: 'model', kind: 'model', shape: 'one', description: 'The network.' },
  { key: 'optimizer', kind: 'optimizer', shape: 'one', description: 'How gradients update the weights.' },
  { key: 'schedule', kind: 'schedule', shape: 'one', description: 'The learning rate over epochs.' },
  { key: 'loss', kind: 'loss', shape: 'one', description: 'What training minimises.' },
  {
    key: 'callbacks',
    kind: 'callback',
    shape: 'list',
    description: 'Hooks run during training, in order (an ε schedule, ...).',
  },
  {
    key: 'evaluations',
    kind: 'evaluator',
    shape: 'named',
    // big_vision's config.evals: a dict of named evaluators, each with its type, data and cadence.
    default: { test: { type: 'classification' } },
    description:
      "Evaluations by name, each run every `every` epochs (train.eval_every unless it sets its own) and after the last; a name prefixes its metrics (test → test_error). Left out: one classification of the test split named test. Naming any replaces that default: keep `test: {type: classification}` among them to keep it. The first is the one ε-ResNet's batch-statistics check and distillation's comparison read.",
  },
  {
    key: 'distillation',
    kind: 'distillation',
    shape: 'one',
    optional: true,
    description: 'Distil a teacher into a student in stages instead of plain training.',
  },
] as const satisfies readonly {
  key: string;
  kind: Kind;
  shape: 'one' | 'list' | 'split' | 'named';
  optional?: boolean;
  default?: Record<string, ComponentSection>;
  description: string;
}[];

type Section = (typeof SECTIONS)[number];
type SectionValue<S extends Section> = S['shape'] extends 'one'
  ? ComponentSection
  : S['shape'] extends 'list'
    ? ComponentSection[]
    : S['shape'] extends 'named'
      ? Record<string, ComponentSection>
      : { train: ComponentSection[]; test: ComponentSection[] };

/** A validated experiment: top-level fields typed from experiment.ts, component sections by shape; defaults filled. */
export type ExperimentConfig = Static<TObject<ReturnType<typeof experimentFields>>> & {
  [S in Section as S extends { optional: true } ? never : S['key']]: SectionValue<S>;
} & { [S in Section as S extends { optional: true } ? S['key'] : never]?: SectionValue<S> };
