import type * as tfc from '@tensorflow/tfjs-core';
import { dense, globalAvgPool, makeDense, type BatchNorm, type Dense, type ParamStore } from './nn.js';
import type { BnMode } from './common.js';
import { bnRelu, makeBnRelu, TP_FC_INIT } from './tensorpack.js';

type TF = typeof tfc;

/** ε-ResNet's side supervision (yuxwind/epsilonResnet scripts/EpsilonResnetBase.py:33-45): BNReLU('bnlast') → global average pool → FC, under `scope`. */
export interface SideHead {
  /** Block whose output the head reads. */
  after: string;
  scope: string;
  weight: number;
  bn: BatchNorm;
  fc: Dense;
}

export function makeSideHead(
  store: ParamStore,
  scope: string,
  after: string,
  ch: number,
  numClasses: number,
  weight: number,
): SideHead {
  return {
    after,
    scope,
    weight,
    bn: makeBnRelu(store, `${scope}/bnlast`, ch),
    fc: makeDense(store, `${scope}/linear`, ch, numClasses, TP_FC_INIT),
  };
}

export function applySideHead(
  tf: TF,
  head: SideHead,
  x: tfc.Tensor4D,
  mode: BnMode,
): { name: string; logits: tfc.Tensor2D; weight: number } {
  return {
    name: head.scope,
    logits: dense(tf, head.fc, globalAvgPool(tf, bnRelu(tf, head.bn, x, mode))),
    weight: head.weight,
  };
}
