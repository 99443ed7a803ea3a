import { tf } from '../tfjs.js';
import type { GradConfig } from '@tensorflow/tfjs-core';
import { avgPoolGradConfig } from './avg-pool.js';
import { batchNormGradConfig } from './batch-norm.js';
import { castGradConfig } from './cast.js';
import { conv2dGradConfig } from './conv2d.js';
import { maxGradConfig } from './max.js';
import { meanGradConfig } from './mean.js';
import { reluGradConfig } from './relu.js';
import { withEarlyRelease } from './release.js';
import { registerWasmKernels } from './wasm-kernels.js';

/** Backends that get them: libtensorflow and libtorch have fast native backprop kernels of their own. */
const NEEDS_FAST_GRADIENTS = new Set(['wasm', 'cpu']);

/** tfjs's own gradients by kernel name, captured before the first replacement. */
const stock = new Map<string, GradConfig>();

function captureStock(): Map<string, GradConfig> {
  if (stock.size === 0) {
    for (const name of Object.values(tf)) {
      if (typeof name !== 'string' || stock.has(name)) continue;
      const config = tf.getGradient(name);
      if (config != null) stock.set(name, config);
    }
  }
  return stock;
}

/** The project's gradients, replacing tfjs's where those are missing pieces or slow on wasm and cpu. */
export function fastGradients(): GradConfig[] {
  const avgPool = captureStock().get(tf.AvgPool)!;
  return [conv2dGradConfig, batchNormGradConfig, reluGradConfig, castGradConfig, meanGradConfig, maxGradConfig, avgPoolGradConfig(avgPool)];
}

/**
 * Registers the project's gradients (and wasm kernels) when `backend` benefits, and makes every gradient release
 * intermediate gradients as the backward pass goes; returns what was replaced.
 */
export function registerFastGradients(backend: string): string[] {
  if (!NEEDS_FAST_GRADIENTS.has(backend)) return [];
  const ours = fastGradients();
  const configs = new Map(captureStock());
  for (const config of ours) configs.set(config.kernelName, config);
  for (const config of configs.values()) tf.registerGradient(withEarlyRelease(config));
  const kernels = backend === 'wasm' ? registerWasmKernels() : [];
  return [
    `gradients of ${ours.map((c) => c.kernelName).join(', ')}`,
    'intermediate gradients released during the backward pass',
    ...(kernels.length > 0 ? [`wasm kernels ${kernels.join(', ')}`] : []),
  ];
}
