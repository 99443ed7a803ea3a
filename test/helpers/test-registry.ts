import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../src/registry/component.js';
import { createRegistry } from '../../src/registry/registry.js';
import { error } from '../../src/util/diagnostics.js';
import { batchFitsTrainingSet } from '../../src/data/dataset-params.js';
import { increasingEpochs } from '../../src/components/schedule/pairs.js';

/** Test-only components: the real registry changes as components are added, these do not. */
const pairs = (description: string) =>
  Type.Array(Type.Tuple([Type.Integer({ minimum: 0 }), Type.Number()]), { minItems: 1, description });

export const testRegistry = createRegistry([
  defineComponent({
    kind: 'dataset',
    type: 'toy-images',
    doc: 'Tiny random images.',
    params: Type.Object(
      { subset: Type.Integer({ minimum: 1, default: 64, description: 'Training images.' }) },
      { additionalProperties: false },
    ),
    build: () => null,
    check: (p, _at, ctx) => batchFitsTrainingSet(p, ctx.config as { train: { batch_size: number } }, ctx.atRoot),
  }),
  defineComponent({
    kind: 'model',
    type: 'toy-resnet',
    doc: 'A toy residual network.',
    params: Type.Object(
      {
        depth: Type.Integer({ minimum: 8, default: 20, description: 'Layers.' }),
        epsilon: Type.Number({ minimum: 0, description: 'Gate threshold.' }),
        width: Type.Integer({ minimum: 1, default: 16, description: 'Channels of the first stage.' }),
        stages: Type.Array(Type.String(), { default: ['a', 'b'], description: 'Stage names.' }),
        freeze: Type.Optional(Type.String({ description: 'A stage to freeze; must name one of `stages`.' })),
      },
      { additionalProperties: false },
    ),
    build: () => null,
    check: (p, at) =>
      p.freeze !== undefined && !p.stages.includes(p.freeze)
        ? [error(`model.freeze names no stage (stages: ${p.stages.join(', ')})`, at('freeze'))]
        : [],
  }),
  defineComponent({
    kind: 'model',
    type: 'toy-plain',
    doc: 'A toy network without shortcuts.',
    params: Type.Object(
      { depth: Type.Integer({ minimum: 1, default: 8, description: 'Layers.' }) },
      { additionalProperties: false },
    ),
    build: () => null,
  }),
  defineComponent({
    kind: 'optimizer',
    type: 'toy-sgd',
    doc: 'Plain SGD.',
    params: Type.Object(
      { momentum: Type.Number({ minimum: 0, maximum: 1, default: 0.9, description: 'Momentum.' }) },
      { additionalProperties: false },
    ),
    build: () => null,
  }),
  defineComponent({
    kind: 'schedule',
    type: 'toy-piecewise',
    doc: 'Piecewise constant.',
    params: Type.Object({ boundaries: pairs('[[epoch, value], ...]') }, { additionalProperties: false }),
    build: () => null,
    check: (p, at, ctx) => increasingEpochs(p.boundaries, 'boundaries', ctx.path, at),
  }),
  defineComponent({
    kind: 'loss',
    type: 'toy-xent',
    doc: 'Cross-entropy.',
    params: Type.Object({}, { additionalProperties: false }),
    build: () => null,
  }),
  defineComponent({
    kind: 'evaluator',
    type: 'classification',
    doc: 'Error on a split; the type the schema default of `evaluations` names.',
    params: Type.Object(
      {
        split: Type.Union([Type.Literal('test'), Type.Literal('train')], { default: 'test', description: 'Split.' }),
        every: Type.Optional(Type.Integer({ minimum: 1, description: 'Epochs between evaluations.' })),
      },
      { additionalProperties: false },
    ),
    build: () => null,
  }),
  defineComponent({
    kind: 'transform',
    type: 'toy-flip',
    doc: 'Horizontal flip.',
    params: Type.Object(
      { p: Type.Number({ minimum: 0, maximum: 1, default: 0.5, description: 'Probability.' }) },
      { additionalProperties: false },
    ),
    build: () => null,
  }),
]);

/** A valid config for testRegistry; line numbers matter to the tests. */
export const VALID = `# a test experiment
experiment: toy
seed: 1
dataset: { type: toy-images, subset: 64 }
model:
  type: toy-resnet
  depth: 20
  epsilon: 2.5
optimizer: { type: toy-sgd }
schedule:
  type: toy-piecewise
  boundaries: [[0, 0.1], [5, 0.01]]
loss: { type: toy-xent }
train: { epochs: 2, batch_size: 8 }
`;
