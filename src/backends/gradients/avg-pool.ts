import { tf } from '../tfjs.js';
import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs-core';

/**
 * AvgPool gradient for non-overlapping windows that tile the input (the option-A shortcut's 2×2, stride 2): each input
 * pixel gets dy/(window area) of its window, a nearest-neighbour upsampling. Other pools use the stock gradient.
 */
export function avgPoolGradConfig(stock: GradConfig): GradConfig {
  return {
    kernelName: tf.AvgPool,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs: NamedAttrMap) => {
      const [x] = saved as [tf.Tensor4D];
      const [fh, fw] = pair(attrs.filterSize as number | [number, number]);
      const [sh, sw] = pair(attrs.strides as number | [number, number]);
      const [, h, w] = x.shape;
      const tiles = fh === sh && fw === sw && h % fh === 0 && w % fw === 0 && attrs.dimRoundingMode == null;
      if (!tiles || (attrs.pad !== 'valid' && attrs.pad !== 'same' && attrs.pad !== 0))
        return stock.gradFunc(dy, saved, attrs);
      return { x: () => tf.image.resizeNearestNeighbor(tf.div(dy as tf.Tensor4D, fh * fw) as tf.Tensor4D, [h, w]) };
    },
  };
}

function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}
