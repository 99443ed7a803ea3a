import { tf } from '../tfjs.js';
import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs-core';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

/**
 * Conv2D gradient built from forward convolutions only, which every backend runs fast: wasm has no
 * Conv2DBackpropFilter kernel and its Conv2DBackpropInput runs about 10x slower than its conv2d.
 */
export const conv2dGradConfig: GradConfig = {
  kernelName: tf.Conv2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs: NamedAttrMap) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const strides = attrs.strides as number | [number, number];
    const dilations = attrs.dilations as number | [number, number];
    if (!tf.backend_util.tupleValuesAreOne(dilations)) throw new Error(`conv2d gradient: dilations ${dilations} are not supported`);
    if (attrs.dataFormat !== 'NHWC') throw new Error(`conv2d gradient: only NHWC is supported (got ${attrs.dataFormat})`);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape, filter.shape, strides, 1, attrs.pad as Pad, attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    );
    const g = dy as tf.Tensor4D;
    return { x: () => inputGradient(g, filter, info), filter: () => filterGradient(x, g, info) };
  },
};

/** Inserts stride-1 zeros between the rows and columns of dy, so a strided conv's input gradient becomes a stride-1 conv. */
function dilate(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  const [n, oh, ow, c] = dy.shape;
  let out = dy;
  if (sh > 1) {
    const rows = tf.reshape(out, [n, oh, 1, ow, c]);
    const spread = tf.concat([rows, tf.zeros([n, oh, sh - 1, ow, c])], 2);
    out = tf.slice(tf.reshape(spread, [n, oh * sh, ow, c]) as tf.Tensor4D, 0, [n, (oh - 1) * sh + 1, ow, c]);
  }
  if (sw > 1) {
    const [, h] = out.shape;
    const cols = tf.reshape(out, [n, h, ow, 1, c]);
    const spread = tf.concat([cols, tf.zeros([n, h, ow, sw - 1, c])], 3);
    out = tf.slice(tf.reshape(spread, [n, h, ow * sw, c]) as tf.Tensor4D, 0, [n, h, (ow - 1) * sw + 1, c]);
  }
  return out;
}

/** Pads (positive amounts) or crops (negative amounts) the two spatial axes. */
function padOrCrop(t: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  const [n, h, w, c] = t.shape;
  const cropped = top < 0 || bottom < 0 || left < 0 || right < 0
    ? tf.slice(t, [0, Math.max(0, -top), Math.max(0, -left), 0], [n, h - Math.max(0, -top) - Math.max(0, -bottom), w - Math.max(0, -left) - Math.max(0, -right), c])
    : t;
  if (top <= 0 && bottom <= 0 && left <= 0 && right <= 0) return cropped;
  return tf.pad(cropped, [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]]);
}

/** dx: full correlation of the zero-dilated dy with the spatially flipped filter, its in/out channels swapped. */
function inputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight, inWidth, padInfo } = info;
  const spread = dilate(dy, sh, sw);
  const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  const top = kh - 1 - padInfo.top;
  const left = kw - 1 - padInfo.left;
  const bottom = inHeight - spread.shape[1] + padInfo.top;
  const right = inWidth - spread.shape[2] + padInfo.left;
  if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0) {
    return tf.conv2d(spread, flipped, 1, [[0, 0], [top, bottom], [left, right], [0, 0]]);
  }
  return tf.conv2d(padOrCrop(spread, top, bottom, left, right), flipped, 1, 'valid');
}

/**
 * dW by the "conv trick": with the batch as channels and the input channels as batch, dW is a forward conv of the
 * padded input with dy as the filter, dilated by the stride.
 */
function filterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight, inWidth, outHeight, outWidth, padInfo } = info;
  const bottom = (outHeight - 1) * sh + kh - inHeight - padInfo.top;
  const right = (outWidth - 1) * sw + kw - inWidth - padInfo.left;
  const xc = padOrCrop(x, 0, Math.min(0, bottom), 0, Math.min(0, right));
  const xT = tf.transpose(xc, [3, 1, 2, 0]) as tf.Tensor4D;
  const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  const pad: tf.backend_util.ExplicitPadding = [[0, 0], [padInfo.top, Math.max(0, bottom)], [padInfo.left, Math.max(0, right)], [0, 0]];
  const dw = tf.conv2d(xT, dyT, 1, pad, 'NHWC', [sh, sw]);
  return tf.transpose(dw, [1, 2, 0, 3]);
}
