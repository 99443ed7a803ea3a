import { Type, type Static } from '@sinclair/typebox';
import { makeDense, type ParamStore } from './nn.js';
import { bnReluLayer, classifier, type ResidualBlock } from './layers.js';
import { makeBnRelu, TP_FC_INIT } from './tensorpack.js';

/** Defaults of the side head's fields; they sit inside an optional object, where JSON Schema defaults are not applied. */
export const SIDE_OUTPUT_WEIGHT = 0.1;

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

/** ε-ResNet's side supervision (yuxwind/epsilonResnet scripts/EpsilonResnetBase.py:33-45): BNReLU('bnlast') → global average pool → FC, under `scope`. */
export function sideHead(
  store: ParamStore,
  scope: string,
  ch: number,
  numClasses: number,
  weight: number,
): NonNullable<ResidualBlock['side']> {
  const bn = makeBnRelu(store, `${scope}/bnlast`, ch);
  const fc = makeDense(store, `${scope}/linear`, ch, numClasses, TP_FC_INIT);
  return {
    scope,
    weight,
    head: classifier(bnReluLayer(bn, `${scope}/bnlast/bn`), fc, { pool: `${scope}/gap`, fc: `${scope}/linear` }),
  };
}
