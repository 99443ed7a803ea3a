import type { Component, Kind } from '../registry/component.js';
import { createRegistry } from '../registry/registry.js';
import { adam } from './optimizer/adam.js';
import { momentum } from './optimizer/momentum.js';
import { adaptiveOnDiscard } from './schedule/adaptive-on-discard.js';
import { cosine } from './schedule/cosine.js';
import { piecewise } from './schedule/piecewise.js';
import { step } from './schedule/step.js';
import { crossEntropy } from './loss/cross-entropy.js';
import { epsilonSchedule } from './callback/epsilon-schedule.js';
import { classification } from './evaluator/classification.js';
import { progressive } from './distillation/progressive.js';
import { cifar10 } from './dataset/cifar10.js';
import { cifar100 } from './dataset/cifar100.js';
import { fashionMnist } from './dataset/fashion-mnist.js';
import { imageFolder } from './dataset/image-folder.js';
import { mnist } from './dataset/mnist.js';
import { svhn } from './dataset/svhn.js';
import { synthetic } from './dataset/synthetic.js';
import { brightness } from './transform/brightness.js';
import { centerCrop } from './transform/center-crop.js';
import { centerPasteTransform } from './transform/center-paste.js';
import { channelNormalize } from './transform/channel-normalize.js';
import { colorJitter } from './transform/color-jitter.js';
import { contrast } from './transform/contrast.js';
import { flip } from './transform/flip.js';
import { gaussianDeform } from './transform/gaussian-deform.js';
import { lighting } from './transform/lighting.js';
import { padCrop } from './transform/pad-crop.js';
import { perPixelMean } from './transform/per-pixel-mean.js';
import { randomCrop } from './transform/random-crop.js';
import { randomSizedCrop } from './transform/random-sized-crop.js';
import { resizeTransform } from './transform/resize.js';
import { scale } from './transform/scale.js';
import { preactResnet } from './model/preact-resnet.js';
import { epsilonResnet } from './model/epsilon-resnet.js';
import { preactResnetImagenet } from './model/preact-resnet-imagenet.js';
import { torchResnet } from './model/torch-resnet.js';

/**
 * Every registered component, kind by kind. Explicit lists, not side-effect imports: adding a component means
 * importing its file here and adding it to its kind's array.
 */
export const COMPONENTS: { [K in Kind]: Component<K, any, any>[] } = {
  dataset: [fashionMnist, mnist, cifar10, cifar100, svhn, imageFolder, synthetic],
  transform: [
    perPixelMean,
    channelNormalize,
    scale,
    padCrop,
    centerPasteTransform,
    randomCrop,
    centerCrop,
    flip,
    brightness,
    contrast,
    gaussianDeform,
    randomSizedCrop,
    resizeTransform,
    colorJitter,
    lighting,
  ],
  model: [preactResnet, epsilonResnet, preactResnetImagenet, torchResnet],
  optimizer: [momentum, adam],
  schedule: [piecewise, step, cosine, adaptiveOnDiscard],
  loss: [crossEntropy],
  distillation: [progressive],
  callback: [epsilonSchedule],
  evaluator: [classification],
};

/** Each built-in's module by the one-component-per-file layout (<kind>/<type>.js), so worker threads can import it; a test checks each exports its component. */
const MODULES = new Map<Component, string>(
  Object.values(COMPONENTS).flatMap((list) =>
    list.map((c: Component) => [c, new URL(`./${c.kind}/${c.type}.js`, import.meta.url).href] as const),
  ),
);

/** The registry of every built-in component: the one every command starts from (a config's plugins extend it). */
export const builtinRegistry = createRegistry(COMPONENTS, MODULES);
