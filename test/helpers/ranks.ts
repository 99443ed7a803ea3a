import { libtorchReport } from '../../src/backends/info.js';

const libtorch = libtorchReport();

/** Why ranks cannot train here (a libtorch addon without Gloo), or false when they can. */
export const noGloo: string | false = libtorch.info?.gloo
  ? false
  : `the libtorch addon is not built with Gloo: ${libtorch.why ?? 'install libgloo-dev and rebuild it'}`;

/** ε-ResNet-8 on libtorch over 32 synthetic images: 4 steps of 8 images per epoch, a checkpoint after each. */
export function rankedConfig(experiment: string, epochs: number, moreTrain = ''): string {
  return `experiment: ${experiment}
seed: 3
backend: libtorch
dataset: { type: synthetic, num_classes: 3, train_size: 32, test_size: 6, height: 8, width: 8 }
transforms: { train: [{ type: per-pixel-mean }], test: [{ type: per-pixel-mean }] }
model: { type: epsilon-resnet, depth: 8, epsilon: 0.5 }
optimizer: { type: momentum, momentum: 0.9 }
schedule: { type: piecewise, values: [[0, 0.1]] }
loss: { type: cross-entropy }
train: { epochs: ${epochs}, batch_size: 8, eval_batch_size: 6${moreTrain} }
`;
}
