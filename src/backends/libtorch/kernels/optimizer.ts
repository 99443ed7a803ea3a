import type { KernelConfig } from '@tensorflow/tfjs-core';
import type { TorchAddon } from '../addon.js';
import { MOMENTUM_UPDATE } from '../../fused/momentum-update.js';
import { kernel } from './kernel.js';

/** Optimizer updates fused into one native op per variable (none from an addon built before they existed). */
export function optimizerKernels(addon: TorchAddon): KernelConfig[] {
  if (typeof addon.momentumUpdate !== 'function') return [];
  return [
    kernel(MOMENTUM_UPDATE, (b, { w, accum, g, lr, wd }, { momentum, nesterov }) =>
      b.outputs(
        addon.momentumUpdate(
          b.handle(w),
          b.handle(accum),
          b.handle(g),
          b.handle(lr),
          wd ? b.handle(wd) : null,
          momentum,
          nesterov,
        ),
      ),
    ),
  ];
}
