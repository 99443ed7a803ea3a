import type { KernelConfig } from '@tensorflow/tfjs-core';
import type { TorchAddon } from '../addon.js';
import { ADAM_UPDATE } from '../../fused/adam-update.js';
import { MOMENTUM_UPDATE } from '../../fused/momentum-update.js';
import { kernel } from './kernel.js';

/** Optimizer updates fused into one native op per variable (none from an addon built before they existed). */
export function optimizerKernels(addon: TorchAddon): KernelConfig[] {
  if (typeof addon.momentumUpdate !== 'function') return [];
  const adam =
    typeof addon.adamUpdate === 'function'
      ? [
          kernel(ADAM_UPDATE, (b, { w, m, v, g, stepSize, l2, decayRate }, { beta1, beta2, epsilon }) =>
            b.outputs(
              addon.adamUpdate(
                b.handle(w),
                b.handle(m),
                b.handle(v),
                b.handle(g),
                b.handle(stepSize),
                l2 ? b.handle(l2) : null,
                decayRate ? b.handle(decayRate) : null,
                beta1,
                beta2,
                epsilon,
              ),
            ),
          ),
        ]
      : [];
  return [
    ...adam,
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
