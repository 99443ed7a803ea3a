import { makeBatchNorm, makeDense, type BatchNorm, type Init, type ParamStore } from './nn.js';
import { bnReluLayer, classifier, type Classifier } from './layers.js';

/** tensorpack 0.2.0 BatchNorm: decay 0.9 and epsilon 1e-5 (the TF.js layer defaults, 0.99 and 1e-3, differ). */
export const TP_BN_MOMENTUM = 0.9;
export const TP_BN_EPSILON = 1e-5;
/** Conv kernels: TF1 variance_scaling_initializer(mode='FAN_OUT'), the ε-ResNet code's argscope for every Conv2D (cifarEpsilonResnet.py:105-106). */
export const TP_CONV_INIT: Init = { kind: 'he-fan-out-truncated' };
/** FullyConnected default: variance_scaling_initializer() (FAN_IN), bias zero. */
export const TP_FC_INIT: Init = { kind: 'he-fan-in-truncated' };

/** tensorpack's BNReLU: its BatchNorm is scoped `<scope>/bn`, as in `res2.3/conv1/bn/gamma` or `bnlast/bn/beta`. */
export function makeBnRelu(store: ParamStore, scope: string, ch: number): BatchNorm {
  return makeBatchNorm(store, `${scope}/bn`, ch, TP_BN_MOMENTUM, TP_BN_EPSILON);
}

/** The ε-ResNet code's prediction head: BNReLU('bnlast') → GlobalAvgPooling('gap') → FullyConnected('linear'). */
export function tensorpackHead(store: ParamStore, ch: number, numClasses: number): Classifier {
  const bnlast = bnReluLayer(makeBnRelu(store, 'bnlast', ch), 'bnlast/bn');
  return classifier(bnlast, makeDense(store, 'linear', ch, numClasses, TP_FC_INIT), { pool: 'gap', fc: 'linear' });
}
