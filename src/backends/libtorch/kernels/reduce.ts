import { util, type KernelConfig } from '@tensorflow/tfjs-core';
import type { TorchAddon } from '../addon.js';
import { kernel } from './kernel.js';

/** Reductions, arg-max/min, top-k, softmax and cumulative sums. */
export function reduceKernels(addon: TorchAddon): KernelConfig[] {
  const reductions = addon.reduceOps.map((name, code) =>
    kernel(name, (b, { x }, attrs) => {
      // Max names its axes `reductionIndices`, the other reductions `axis`.
      const axes = util.parseAxisParam(attrs.axis ?? attrs.reductionIndices, x.shape);
      return b.output(addon.reduce(code, b.handle(x), axes, attrs.keepDims ?? false));
    }),
  );
  const arg = (name: string, isMax: boolean) =>
    kernel(name, (b, { x }, { axis }) =>
      b.output(addon.argReduce(b.handle(x), util.parseAxisParam(axis, x.shape)[0], isMax)),
    );
  return [
    ...reductions,
    arg('ArgMax', true),
    arg('ArgMin', false),
    kernel('TopK', (b, { x }, { k, sorted }) => b.outputs(addon.topk(b.handle(x), k, sorted))),
    kernel('Softmax', (b, { logits }, { dim }) => b.output(addon.softmax(b.handle(logits), dim))),
    kernel('Cumsum', (b, { x }, { axis, exclusive, reverse }) =>
      b.output(addon.cumsum(b.handle(x), util.parseAxisParam(axis, x.shape)[0], exclusive, reverse)),
    ),
  ];
}
