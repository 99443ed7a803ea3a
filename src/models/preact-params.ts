import { Type, type Static } from '@sinclair/typebox';

/** Defaults of the side head's fields; they sit inside an optional object, where JSON Schema defaults are not applied. */
export const SIDE_OUTPUT_WEIGHT = 0.1;

export const GateSharpness = Type.Number({
  exclusiveMinimum: 0,
  default: 1e6,
  description: 'L in the gate T = relu(1 − L·relu(1 − L·s)); the original code uses 1e6.',
});

export const TestGateParam = Type.Union([Type.Literal('recompute'), Type.Literal('last-train')], {
  default: 'recompute',
  description:
    "Gate used in evaluation, no effect without ε: recompute on every test batch (the final code, default) or last-train, the last training batch's gate kept in a non-trainable <block>/identity (the 2018 first version).",
});

/** `side_output: {weight, after}` or null; `after` names the block whose output the head reads. */
export function SideOutput(defaultValue: { weight: number; after: null } | null, position: string) {
  return Type.Union(
    [
      Type.Null(),
      Type.Object(
        {
          weight: Type.Optional(
            Type.Number({
              minimum: 0,
              description: `Weight of the side head's cross-entropy in the loss (when left out: ${SIDE_OUTPUT_WEIGHT}).`,
            }),
          ),
          after: Type.Optional(
            Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
              description: `Block the head follows; null or left out: ${position}.`,
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ],
    {
      default: defaultValue,
      description:
        'Side supervision (ε-ResNet): BN-ReLU → global average pool → FC after one block, trained with its weight, never used for prediction; null for none.',
    },
  );
}

export type SideOutputParams = Static<ReturnType<typeof SideOutput>>;

/** The head's settings with the defaults filled in, or null. */
export function sideOutputSettings(p: SideOutputParams): { weight: number; after: string | null } | null {
  return p === null ? null : { weight: p.weight ?? SIDE_OUTPUT_WEIGHT, after: p.after ?? null };
}

/** ε of the gate: null builds the standard ResNet (no gate). */
export const OptionalEpsilon = Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
  default: null,
  description:
    'ε of the strict-identity gate on every residual block (ε-ResNet); null for a standard ResNet without gates.',
});

/** Fields of the CIFAR/SVHN pre-activation ResNet shared by `preact-resnet` and `epsilon-resnet`. */
export function preactCifarFields(depthDefault: number) {
  return {
    depth: Type.Integer({
      minimum: 8,
      default: depthDefault,
      description: 'Layers, 6n+2 (n blocks per stage): 20, 56, 110 (n=18), 200 (33), 500 (83), 752 (125).',
    }),
    gate_sharpness: GateSharpness,
    test_gate: TestGateParam,
    structure: Type.Union([Type.Array(Type.Integer({ minimum: 0 }), { minItems: 3, maxItems: 3 }), Type.Null()], {
      default: null,
      description: 'Compressed model: blocks kept per stage, as `epsilab compress` writes it; null keeps all n.',
    }),
    discard_first_block: Type.Array(Type.Integer({ minimum: 0, maximum: 1 }), {
      minItems: 3,
      maxItems: 3,
      default: [0, 0, 0],
      description:
        "Compressed model: 1 where a stage's first block was discarded (that stage opens with its shortcut alone and numbers kept blocks from 1).",
    }),
  };
}
