import type { Component, Kind } from './component.js';
import { adam } from '../components/optimizer/adam.js';
import { momentum } from '../components/optimizer/momentum.js';
import { adaptiveOnDiscard } from '../components/schedule/adaptive-on-discard.js';
import { cosine } from '../components/schedule/cosine.js';
import { piecewise } from '../components/schedule/piecewise.js';
import { step } from '../components/schedule/step.js';
import { crossEntropy } from '../components/loss/cross-entropy.js';
import { epsilonSchedule } from '../components/callback/epsilon-schedule.js';
import { preactResnet } from '../components/model/preact-resnet.js';
import { epsilonResnet } from '../components/model/epsilon-resnet.js';
import { preactResnetImagenet } from '../components/model/preact-resnet-imagenet.js';
import { torchResnet } from '../components/model/torch-resnet.js';

/**
 * Every registered component, kind by kind. Explicit lists, not side-effect imports: adding a component means
 * importing its file here and adding it to its kind's array.
 */
export const COMPONENTS: { [K in Kind]: Component<K, any, any>[] } = {
  dataset: [],
  transform: [],
  model: [preactResnet, epsilonResnet, preactResnetImagenet, torchResnet],
  optimizer: [momentum, adam],
  schedule: [piecewise, step, cosine, adaptiveOnDiscard],
  loss: [crossEntropy],
  distillation: [],
  callback: [epsilonSchedule],
};
