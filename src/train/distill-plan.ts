import { Type, type Static } from '@sinclair/typebox';
import { ComponentRef } from '../registry/component.js';

/** The plan the progressive distillation trainer follows: teacher, student, ordered stages. Its component validates it. */

const LOSS_TERMS = [
  Type.Object(
    {
      kind: Type.Literal('l1'),
      at: Type.String({ description: 'Tap compared between teacher and student (stem, layer1, layer2, layer3).' }),
      weight: Type.Number({ minimum: 0, default: 1, description: 'Weight of this term.' }),
    },
    {
      additionalProperties: false,
      description:
        "Mean absolute difference between teacher and student outputs at a named point (the seed's perPixelLoss).",
    },
  ),
  Type.Object(
    {
      kind: Type.Literal('cross-entropy'),
      weight: Type.Number({ minimum: 0, default: 1, description: 'Weight of this term.' }),
    },
    { additionalProperties: false, description: "Cross-entropy of the student's logits with the labels." },
  ),
  Type.Object(
    {
      kind: Type.Literal('kl'),
      temperature: Type.Number({
        exclusiveMinimum: 0,
        default: 4,
        description: 'Softmax temperature of both distributions.',
      }),
      weight: Type.Number({
        minimum: 0,
        default: 1,
        description: 'Weight of this term (multiplied by T² as in Hinton et al.).',
      }),
    },
    { additionalProperties: false, description: "KL divergence from the teacher's softened logits to the student's." },
  ),
] as const;
export type LossTerm = Static<(typeof LOSS_TERMS)[number]>;
/** A tagged union on `kind`, so ajv reports errors from the right branch and applies each branch's defaults. */
const LossTerm = Type.Unsafe<LossTerm>({
  type: 'object',
  oneOf: LOSS_TERMS,
  discriminator: { propertyName: 'kind' },
  description: 'One term of a stage loss.',
});

const Stage = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'Stage name: TensorBoard tag prefix and checkpoint folder.',
    }),
    train: Type.Array(Type.String(), {
      minItems: 1,
      description: "Parts of the student that train: names from the model's stages (stem, layer1, ...), or 'all'.",
    }),
    loss: Type.Array(LossTerm, { minItems: 1, description: 'Terms summed into the stage loss.' }),
    optimizer: ComponentRef('optimizer', "This stage's optimizer (a new one each stage, as in the seed)."),
    schedule: ComponentRef('schedule', "This stage's learning-rate schedule, epochs counted from the stage's start."),
    epochs: Type.Integer({ minimum: 1, description: 'Epochs of this stage.' }),
  },
  { additionalProperties: false },
);
export type DistillStage = Static<typeof Stage>;

const Teacher = Type.Union(
  [
    Type.Object(
      {
        train: Type.Literal(true, {
          description:
            "Train the teacher first with the experiment's own model, optimizer, schedule and train sections.",
        }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        run: Type.String({
          description: 'A finished run folder whose exported model is the teacher (relative to the working directory).',
        }),
      },
      { additionalProperties: false },
    ),
  ],
  { description: '{train: true} to train the teacher first, or {run: <run folder>} to load a finished one.' },
);

export const DistillationParams = Type.Object(
  {
    teacher: Teacher,
    student: Type.Record(Type.String(), Type.Unknown(), {
      default: { plain: true },
      description:
        "Overrides applied to the teacher's model section to get the student (the plain twin: {plain: true}).",
    }),
    init_from_teacher: Type.Boolean({
      default: true,
      description: "Initialise the student with the teacher's weights, matched by name.",
    }),
    teacher_batchnorm: Type.Union([Type.Literal('train'), Type.Literal('eval')], {
      default: 'train',
      description:
        "Teacher BN during distillation: 'train' (the seed: batch statistics, running statistics updated) or 'eval' (frozen running statistics).",
    }),
    timing_batch: Type.Integer({
      minimum: 1,
      default: 1024,
      description: 'Batch size of the teacher-vs-student inference timing.',
    }),
    timing_repeats: Type.Integer({
      minimum: 1,
      default: 5,
      description: 'Timed repetitions (the median is reported).',
    }),
    stages: Type.Array(Stage, {
      minItems: 1,
      description:
        'Ordered stages; the seed: layer1, layer2, layer3 with L1 at each, then a cross-entropy fine-tune of everything.',
    }),
  },
  { additionalProperties: false },
);
export type DistillationParams = Static<typeof DistillationParams>;
