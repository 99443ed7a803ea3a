import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from '../fused/batch-norm-training.js';
import { heap, makeWasm, rowMean, runWasm } from './wasm-ops.js';

type Args = { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs?: NamedAttrMap };

/**
 * Training-mode batch norm (batch statistics) and its gradient as two wasm kernels built from wasm's own, under the
 * kernel names nn.ts looks for. Where tf.moments + tf.batchNorm leave some twenty tape nodes whose gradients make as
 * many passes over the activations, the gradient here makes five.
 */
export const wasmBatchNormKernels: KernelConfig[] = [
  { kernelName: BATCH_NORM_TRAINING, backendName: 'wasm', kernelFunc: (args) => forward(args as Args) },
  { kernelName: BATCH_NORM_TRAINING_GRAD, backendName: 'wasm', kernelFunc: (args) => backward(args as Args) },
];

/** [y, mean, variance (biased, as tf.moments), 1/sqrt(variance + ε)] of NHWC x. */
function forward({ inputs, backend, attrs }: Args): TensorInfo[] {
  const b = backend as BackendWasm;
  const { x, scale, offset } = inputs as Record<string, TensorInfo>;
  const epsilon = attrs!.varianceEpsilon as number;
  const channels = x.shape[3];
  const rows = x.shape[0] * x.shape[1] * x.shape[2];
  const mean = rowMean(b, x, 1, rows, channels);
  const centered = runWasm(b, 'Sub', { a: x, b: mean });
  const squared = runWasm(b, 'Multiply', { a: centered, b: centered });
  const variance = rowMean(b, squared, 1, rows, channels);
  b.disposeData(centered.dataId);
  b.disposeData(squared.dataId);
  const v = heap(b, variance);
  const invStd = makeWasm(b, [channels], (out) => out.forEach((_, c) => (out[c] = 1 / Math.sqrt(v[c] + epsilon))));
  const y = runWasm(b, 'FusedBatchNorm', { x, mean, variance, offset, scale }, { varianceEpsilon: epsilon });
  return [y, mean, variance, invStd];
}

/**
 * [dx, dScale, dOffset] with x̂ = (x − mean)·invStd over the M = N·H·W rows:
 * dx = scale·invStd·(dy − mean(dy) − x̂·mean(dy·x̂)), dScale = Σ dy·x̂, dOffset = Σ dy.
 */
function backward({ inputs, backend }: Args): TensorInfo[] {
  const b = backend as BackendWasm;
  const { dy, x, scale, mean, invStd } = inputs as Record<string, TensorInfo>;
  const channels = x.shape[3];
  const rows = x.shape[0] * x.shape[1] * x.shape[2];
  const centered = runWasm(b, 'Sub', { a: x, b: mean });
  const product = runWasm(b, 'Multiply', { a: dy, b: centered });
  const meanDyCenteredInfo = rowMean(b, product, 1, rows, channels);
  const meanDyInfo = rowMean(b, dy, 1, rows, channels);
  const meanDyCentered = heap(b, meanDyCenteredInfo).slice();
  const meanDy = heap(b, meanDyInfo).slice();
  for (const t of [product, meanDyCenteredInfo, meanDyInfo]) b.disposeData(t.dataId);
  const g = heap(b, scale).slice();
  const s = heap(b, invStd).slice();
  const perChannel = (f: (c: number) => number) =>
    makeWasm(b, [channels], (out) => out.forEach((_, c) => (out[c] = f(c))));
  const zero = perChannel(() => 0);
  const one = perChannel(() => 1);
  // scale·invStd·dy, then + b·(x − mean) + c, the last two in one batch-norm pass over the centred input.
  const gain = perChannel((c) => g[c] * s[c]);
  const slope = perChannel((c) => -g[c] * s[c] ** 3 * meanDyCentered[c]);
  const shift = perChannel((c) => -g[c] * s[c] * meanDy[c]);
  const scaledDy = runWasm(b, 'Multiply', { a: dy, b: gain });
  const correction = runWasm(
    b,
    'FusedBatchNorm',
    { x: centered, mean: zero, variance: one, offset: shift, scale: slope },
    { varianceEpsilon: 0 },
  );
  const dx = runWasm(b, 'Add', { a: scaledDy, b: correction });
  for (const t of [centered, zero, one, gain, slope, shift, scaledDy, correction]) b.disposeData(t.dataId);
  const dScale = perChannel((c) => rows * meanDyCentered[c] * s[c]);
  const dOffset = perChannel((c) => rows * meanDy[c]);
  return [dx, dScale, dOffset];
}
