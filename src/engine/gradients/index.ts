import { tf } from '../tfjs.js';
import type { GradConfig } from '@tensorflow/tfjs-core';
import { avgPoolGradConfig } from './avg-pool.js';
import { batchNormGradConfig } from './batch-norm.js';
import { castGradConfig } from './cast.js';
import { conv2dGradConfig } from './conv2d.js';
import { meanGradConfig } from './mean.js';
import { reluGradConfig } from './relu.js';
import { registerWasmKernels } from './wasm-kernels.js';

/** Backends that get them: libtensorflow and libtorch have fast native backprop kernels of their own. */
const NEEDS_FAST_GRADIENTS = new Set(['wasm', 'cpu']);

/** tfjs's own gradients, captured before the first replacement, for the cases ours hand back. */
const stock = new Map<string, GradConfig>();

/** The project's gradients, replacing tfjs's where those are missing pieces or slow on wasm and cpu. */
export function fastGradients(): GradConfig[] {
  for (const name of [tf.AvgPool]) if (!stock.has(name)) stock.set(name, tf.getGradient(name));
  return [conv2dGradConfig, batchNormGradConfig, reluGradConfig, castGradConfig, meanGradConfig, avgPoolGradConfig(stock.get(tf.AvgPool)!)];
}

/** Registers the project's gradients (and wasm kernels) when `backend` benefits; returns what was replaced. */
export function registerFastGradients(backend: string): string[] {
  if (!NEEDS_FAST_GRADIENTS.has(backend)) return [];
  const configs = fastGradients();
  for (const config of configs) tf.registerGradient(config);
  const kernels = backend === 'wasm' ? registerWasmKernels() : [];
  return [`gradients of ${configs.map((c) => c.kernelName).join(', ')}`, ...(kernels.length > 0 ? [`wasm kernels ${kernels.join(', ')}`] : [])];
}
