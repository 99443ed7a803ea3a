import type { KernelConfig } from '@tensorflow/tfjs-core';
import type { TorchAddon } from '../addon.js';
import { convKernels } from './conv.js';
import { elementwiseKernels } from './elementwise.js';
import { fallbackKernels } from './fallback.js';
import { normKernels } from './norm.js';
import { optimizerKernels } from './optimizer.js';
import { reduceKernels } from './reduce.js';
import { shapeKernels } from './shape.js';

/** Every kernel of the libtorch backend: the native ones, then cpu fallbacks for the rest. */
export function libtorchKernels(addon: TorchAddon): { native: KernelConfig[]; fallback: KernelConfig[] } {
  const native = [
    ...elementwiseKernels(addon),
    ...reduceKernels(addon),
    ...shapeKernels(addon),
    ...convKernels(addon),
    ...normKernels(addon),
    ...optimizerKernels(addon),
  ];
  return { native, fallback: fallbackKernels(native) };
}
