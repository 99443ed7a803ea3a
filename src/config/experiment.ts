import { Type, type Static } from '@sinclair/typebox';

/**
 * The experiment's top-level sections other than components. The registry composes the full schema by adding
 * one tagged union per component kind (dataset, model, optimizer, schedule, loss, each transform and callback).
 */
export const TrainSection = Type.Object(
  {
    epochs: Type.Integer({ minimum: 1, default: 10, description: 'Epochs to train.' }),
    batch_size: Type.Integer({ minimum: 1, default: 128, description: 'Training mini-batch size.' }),
    eval_batch_size: Type.Integer({ minimum: 1, default: 256, description: 'Evaluation batch size (does not change results).' }),
    drop_remainder: Type.Boolean({ default: true, description: 'Drop the last incomplete training batch (tensorpack BatchData(remainder=False)).' }),
    eval_every: Type.Integer({ minimum: 1, default: 1, description: 'Evaluate on the test split every this many epochs (and after the last).' }),
    checkpoint_every: Type.Integer({ minimum: 1, default: 1, description: 'Write a checkpoint every this many epochs (and on interrupt).' }),
    histograms: Type.Boolean({ default: false, description: 'Write weight histograms to TensorBoard every epoch.' }),
    steps_per_epoch: Type.Optional(Type.Integer({ minimum: 1, description: 'Cap on steps per epoch, for reduced-scale runs.' })),
  },
  { additionalProperties: false, default: {} },
);
export type TrainSection = Static<typeof TrainSection>;

export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'libtorch', 'wasm', 'cpu'] as const;

/** Fields every experiment has, whatever its components. */
export function experimentFields() {
  return {
    $schema: Type.Optional(Type.String({ description: 'Path of the JSON Schema, for editor completion.' })),
    experiment: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'Name of the experiment; runs land in results/<experiment>/<run-id>/.' }),
    description: Type.Optional(Type.String({ description: 'Free text shown by `plan` and kept in the run folder.' })),
    seed: Type.Integer({ minimum: 0, default: 0, description: 'Seed for initialisation, data order and augmentation.' }),
    backend: Type.Union(BACKENDS.map((b) => Type.Literal(b)), { default: 'auto', description: 'TensorFlow.js backend; auto takes the fastest that loads.' }),
    device: Type.String({ pattern: '^(cpu|cuda(:[0-9]+)?)$', default: 'cpu', description: "Device of the libtorch backend: cpu, cuda or cuda:N (a CUDA build of libtorch on an NVIDIA GPU)." }),
    plugins: Type.Optional(Type.Array(Type.String(), { description: 'Files (relative to the config) that export extra components.' })),
    train: TrainSection,
    output: Type.Object({ root: Type.String({ default: 'results', description: 'Folder that holds results/<experiment>/<run-id>/.' }) }, { additionalProperties: false, default: {} }),
  };
}
