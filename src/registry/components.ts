import type { Component, Kind } from './component.js';
import { adam } from '../components/optimizer/adam.js';
import { momentum } from '../components/optimizer/momentum.js';
import { adaptiveOnDiscard } from '../components/schedule/adaptive-on-discard.js';
import { cosine } from '../components/schedule/cosine.js';
import { piecewise } from '../components/schedule/piecewise.js';
import { step } from '../components/schedule/step.js';
import { crossEntropy } from '../components/loss/cross-entropy.js';
import { epsilonSchedule } from '../components/callback/epsilon-schedule.js';
import { progressive } from '../components/distillation/progressive.js';
import { cifar10 } from '../components/dataset/cifar10.js';
import { cifar100 } from '../components/dataset/cifar100.js';
import { fashionMnist } from '../components/dataset/fashion-mnist.js';
import { imageFolder } from '../components/dataset/image-folder.js';
import { mnist } from '../components/dataset/mnist.js';
import { svhn } from '../components/dataset/svhn.js';
import { synthetic } from '../components/dataset/synthetic.js';
import { brightness } from '../components/transform/brightness.js';
import { centerCrop } from '../components/transform/center-crop.js';
import { centerPasteTransform } from '../components/transform/center-paste.js';
import { channelNormalize } from '../components/transform/channel-normalize.js';
import { colorJitter } from '../components/transform/color-jitter.js';
import { contrast } from '../components/transform/contrast.js';
import { flip } from '../components/transform/flip.js';
import { gaussianDeform } from '../components/transform/gaussian-deform.js';
import { lighting } from '../components/transform/lighting.js';
import { padCrop } from '../components/transform/pad-crop.js';
import { perPixelMean } from '../components/transform/per-pixel-mean.js';
import { randomCrop } from '../components/transform/random-crop.js';
import { randomSizedCrop } from '../components/transform/random-sized-crop.js';
import { resizeTransform } from '../components/transform/resize.js';
import { scale } from '../components/transform/scale.js';
import { preactResnet } from '../components/model/preact-resnet.js';
import { epsilonResnet } from '../components/model/epsilon-resnet.js';
import { preactResnetImagenet } from '../components/model/preact-resnet-imagenet.js';
import { torchResnet } from '../components/model/torch-resnet.js';

/**
 * Every registered component, kind by kind. Explicit lists, not side-effect imports: adding a component means
 * importing its file here and adding it to its kind's array.
 */
export const COMPONENTS: { [K in Kind]: Component<K, any, any>[] } = {
  dataset: [fashionMnist, mnist, cifar10, cifar100, svhn, imageFolder, synthetic],
  transform: [perPixelMean, channelNormalize, scale, padCrop, centerPasteTransform, randomCrop, centerCrop, flip, brightness, contrast, gaussianDeform, randomSizedCrop, resizeTransform, colorJitter, lighting],
  model: [preactResnet, epsilonResnet, preactResnetImagenet, torchResnet],
  optimizer: [momentum, adam],
  schedule: [piecewise, step, cosine, adaptiveOnDiscard],
  loss: [crossEntropy],
  distillation: [progressive],
  callback: [epsilonSchedule],
};
