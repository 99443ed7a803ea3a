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
import { BATCH_NORM_TRAINING, batchNormTraining } from '../fused/batch-norm-training.js';
import { fusedReluGradient } from '../fused/relu-gradient.js';

/** Backends whose stock gradient kernels are missing or slow: libtensorflow and libtorch have fast native ones. */
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
  return [
    conv2dGradConfig,
    batchNormGradConfig,
    reluGradConfig,
    castGradConfig,
    meanGradConfig,
    maxGradConfig,
    avgPoolGradConfig(avgPool),
  ];
}

/**
 * The fused training batch norm registers its gradient on first use; where the current backend has the kernel, one
 * tiny call registers it now, so that it too releases its dy early.
 */
function fusedBatchNormGradient(): GradConfig | null {
  if (tf.getKernel(BATCH_NORM_TRAINING, tf.getBackend()) == null) return null;
  tf.tidy(() => void batchNormTraining(tf, tf.zeros([1, 1, 1, 1]), tf.ones([1]), tf.zeros([1]), 1e-3));
  return tf.getGradient(BATCH_NORM_TRAINING) ?? null;
}

/**
 * Makes every gradient release intermediate gradients as the backward pass goes, and on wasm and cpu registers the
 * project's gradients (and on wasm its kernels); returns what was done, for the run's record.
 */
export function registerFastGradients(backend: string): string[] {
  const done: string[] = [];
  const configs = new Map(captureStock());
  if (NEEDS_FAST_GRADIENTS.has(backend)) {
    const ours = fastGradients();
    for (const config of ours) configs.set(config.kernelName, config);
    done.push(`gradients of ${ours.map((c) => c.kernelName).join(', ')}`);
  }
  if (backend === 'wasm') done.push(`wasm kernels ${registerWasmKernels().join(', ')}`);
  const fused = fusedBatchNormGradient();
  if (fused) configs.set(BATCH_NORM_TRAINING, fused);
  const relu = fusedReluGradient(tf);
  if (relu) {
    configs.set(tf.Relu, relu);
    done.push('ReLU gradient in one kernel');
  }
  for (const config of configs.values()) tf.registerGradient(withEarlyRelease(config));
  done.push('intermediate gradients released during the backward pass');
  return done;
}
