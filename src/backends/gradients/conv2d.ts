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
    if (!tf.backend_util.tupleValuesAreOne(dilations))
      throw new Error(`conv2d gradient: dilations ${dilations} are not supported`);
    if (attrs.dataFormat !== 'NHWC')
      throw new Error(`conv2d gradient: only NHWC is supported (got ${attrs.dataFormat})`);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      filter.shape,
      strides,
      1,
      attrs.pad as Pad,
      attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    );
    const g = dy as tf.Tensor4D;
    return { x: () => inputGradient(g, filter, info), filter: () => filterGradient(x, g, info) };
  },
};

/** Pads (positive amounts) or crops (negative amounts) the two spatial axes. */
function padOrCrop(t: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  const [n, h, w, c] = t.shape;
  const cropped =
    top < 0 || bottom < 0 || left < 0 || right < 0
      ? tf.slice(
          t,
          [0, Math.max(0, -top), Math.max(0, -left), 0],
          [n, h - Math.max(0, -top) - Math.max(0, -bottom), w - Math.max(0, -left) - Math.max(0, -right), c],
        )
      : t;
  if (top <= 0 && bottom <= 0 && left <= 0 && right <= 0) return cropped;
  return tf.pad(cropped, [
    [0, 0],
    [Math.max(0, top), Math.max(0, bottom)],
    [Math.max(0, left), Math.max(0, right)],
    [0, 0],
  ]);
}

/** Stride-1 convolution with padding that may be negative (a crop). */
function convPadded(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  top: number,
  bottom: number,
  left: number,
  right: number,
): tf.Tensor4D {
  if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0)
    return tf.conv2d(x, filter, 1, [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ]);
  return tf.conv2d(padOrCrop(x, top, bottom, left, right), filter, 1, 'valid');
}

/** The filter flipped in space with its in/out channels swapped: a correlation with it undoes the forward one. */
function flip(filter: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
}

/**
 * dx. Stride 1: a full correlation of dy with the flipped filter. Stride s: padded-input row p = h + top receives
 * dy[q − j]·W[r + s·j] where p = s·q + r, so each of the s×s phases (r_h, r_w) is a stride-1 correlation of dy with
 * the taps W[r_h::s, r_w::s]; the phases are then interleaved. This does the work of the strided conv once, where
 * zero-inserting dy would do it s² times.
 */
function inputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const {
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
    inHeight,
    inWidth,
    inChannels,
    padInfo,
  } = info;
  const [n, oh, ow, co] = dy.shape;
  if (sh === 1 && sw === 1) {
    return convPadded(
      dy,
      flip(filter),
      kh - 1 - padInfo.top,
      inHeight - oh + padInfo.top,
      kw - 1 - padInfo.left,
      inWidth - ow + padInfo.left,
    );
  }
  const qh = Math.ceil((inHeight + padInfo.top) / sh);
  const qw = Math.ceil((inWidth + padInfo.left) / sw);
  const rows = [];
  for (let rh = 0; rh < sh; rh++) {
    const phases = [];
    for (let rw = 0; rw < sw; rw++) {
      const jh = Math.ceil((kh - rh) / sh);
      const jw = Math.ceil((kw - rw) / sw);
      if (jh <= 0 || jw <= 0) {
        phases.push(tf.zeros([n, qh, qw, inChannels]));
        continue;
      }
      const taps = tf.stridedSlice(filter, [rh, rw, 0, 0], [kh, kw, inChannels, co], [sh, sw, 1, 1]) as tf.Tensor4D;
      phases.push(convPadded(dy, flip(taps), jh - 1, qh - oh, jw - 1, qw - ow));
    }
    rows.push(tf.reshape(tf.stack(phases, 3), [n, qh, qw * sw, inChannels]));
  }
  const full = tf.reshape(tf.stack(rows, 2), [n, qh * sh, qw * sw, inChannels]) as tf.Tensor4D;
  return tf.slice(full, [0, padInfo.top, padInfo.left, 0], [n, inHeight, inWidth, inChannels]);
}

/**
 * dW by the "conv trick": with the batch as channels and the input channels as batch, dW is a forward conv of the
 * padded input with dy as the filter, dilated by the stride.
 */
function filterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const {
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
    inHeight,
    inWidth,
    outHeight,
    outWidth,
    padInfo,
  } = info;
  const bottom = (outHeight - 1) * sh + kh - inHeight - padInfo.top;
  const right = (outWidth - 1) * sw + kw - inWidth - padInfo.left;
  const xc = padOrCrop(x, 0, Math.min(0, bottom), 0, Math.min(0, right));
  const xT = tf.transpose(xc, [3, 1, 2, 0]) as tf.Tensor4D;
  const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  const pad: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [padInfo.top, Math.max(0, bottom)],
    [padInfo.left, Math.max(0, right)],
    [0, 0],
  ];
  const dw = tf.conv2d(xT, dyT, 1, pad, 'NHWC', [sh, sw]);
  return tf.transpose(dw, [1, 2, 0, 3]);
}
