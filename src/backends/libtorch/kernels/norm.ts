import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { TorchAddon } from '../addon.js';
import type { LibtorchBackend } from '../backend.js';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from '../../fused/batch-norm-training.js';
import { biasAndActivation } from './conv.js';
import { kernel } from './kernel.js';

/** Batch normalisation (given statistics, and training mode fused), and matrix products (plain and fused with bias and activation). */
export function normKernels(addon: TorchAddon): KernelConfig[] {
  const optional = (b: LibtorchBackend, t: TensorInfo | undefined) => (t ? b.handle(t) : null);
  return [
    kernel('FusedBatchNorm', (b, { x, mean, variance, offset, scale }, { varianceEpsilon }) =>
      b.output(
        addon.batchNorm(
          b.handle(x),
          b.handle(mean),
          b.handle(variance),
          optional(b, offset),
          optional(b, scale),
          varianceEpsilon,
        ),
      ),
    ),
    kernel(BATCH_NORM_TRAINING, (b, { x, scale, offset }, { varianceEpsilon }) =>
      b.outputs(addon.batchNormTrain(b.handle(x), b.handle(scale), b.handle(offset), varianceEpsilon)),
    ),
    kernel(BATCH_NORM_TRAINING_GRAD, (b, { dy, x, scale, mean, invStd }, { varianceEpsilon }) =>
      b.outputs(
        addon.batchNormTrainGrad(
          b.handle(dy),
          b.handle(x),
          b.handle(scale),
          b.handle(mean),
          b.handle(invStd),
          varianceEpsilon,
        ),
      ),
    ),
    kernel('BatchMatMul', (b, { a, b: bt }, { transposeA, transposeB }) =>
      b.output(addon.matmul(b.handle(a), b.handle(bt), transposeA, transposeB)),
    ),
    kernel('_FusedMatMul', (b, inputs, attrs) => {
      const y = addon.matmul(b.handle(inputs.a), b.handle(inputs.b), attrs.transposeA, attrs.transposeB);
      return b.output(biasAndActivation(b, addon, y, inputs, attrs));
    }),
  ];
}
