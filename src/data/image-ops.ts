import type { FloatImage, RawImage } from './types.js';
import { randint } from './rng.js';

/** Pixel values as float32 in their original 0..255 range. */
export function toFloat(raw: RawImage): FloatImage {
  return { data: Float32Array.from(raw.data), height: raw.height, width: raw.width, channels: raw.channels };
}

export function blank(height: number, width: number, channels: number, fill = 0): FloatImage {
  const data = new Float32Array(height * width * channels);
  if (fill !== 0) data.fill(fill);
  return { data, height, width, channels };
}

/** The h×w window at (y0, x0); the window must lie inside the image. */
export function crop(img: FloatImage, y0: number, x0: number, h: number, w: number): FloatImage {
  if (y0 < 0 || x0 < 0 || y0 + h > img.height || x0 + w > img.width) {
    throw new Error(`crop ${h}×${w} at (${y0}, ${x0}) does not fit a ${img.height}×${img.width} image`);
  }
  const c = img.channels;
  const out = blank(h, w, c);
  for (let y = 0; y < h; y++) {
    const src = ((y0 + y) * img.width + x0) * c;
    out.data.set(img.data.subarray(src, src + w * c), y * w * c);
  }
  return out;
}

/** Offset of a random window with `room` pixels to spare; tensorpack's randint(room) never picks the last one, torchvision's does. */
export function randomOffset(rng: () => number, room: number, includeLast: boolean): number {
  if (room < 0) throw new Error(`random crop ${-room} pixels larger than the image`);
  if (room === 0) return 0;
  return randint(rng, includeLast ? room + 1 : room);
}

/** Pastes the image at the centre of an h×w canvas filled with `fill` (tensorpack CenterPaste). */
export function centerPaste(img: FloatImage, h: number, w: number, fill: number): FloatImage {
  if (img.height > h || img.width > w)
    throw new Error(`cannot paste a ${img.height}×${img.width} image onto a ${h}×${w} canvas`);
  const c = img.channels;
  const out = blank(h, w, c, fill);
  const y0 = Math.floor((h - img.height) / 2);
  const x0 = Math.floor((w - img.width) / 2);
  for (let y = 0; y < img.height; y++) {
    out.data.set(img.data.subarray(y * img.width * c, (y + 1) * img.width * c), ((y0 + y) * w + x0) * c);
  }
  return out;
}

export function flipHorizontal(img: FloatImage): FloatImage {
  const { height: h, width: w, channels: c } = img;
  const out = blank(h, w, c);
  const src = img.data;
  const dst = out.data;
  for (let y = 0; y < h; y++) {
    const row = y * w * c;
    for (let x = 0; x < w; x++) {
      const from = row + (w - 1 - x) * c;
      const to = row + x * c;
      for (let k = 0; k < c; k++) dst[to + k] = src[from + k];
    }
  }
  return out;
}

export function flipVertical(img: FloatImage): FloatImage {
  const { height: h, width: w, channels: c } = img;
  const out = blank(h, w, c);
  for (let y = 0; y < h; y++) out.data.set(img.data.subarray((h - 1 - y) * w * c, (h - y) * w * c), y * w * c);
  return out;
}

export function clip(img: FloatImage, low = 0, high = 255): FloatImage {
  const data = new Float32Array(img.data.length);
  for (let i = 0; i < data.length; i++) {
    const v = img.data[i];
    data[i] = v < low ? low : v > high ? high : v;
  }
  return { ...img, data };
}

export type Interpolation = 'linear' | 'cubic';

/** Resizes like OpenCV's cv2.resize (half-pixel centres, border pixels repeated; cubic with a = -0.75). */
export function resize(img: FloatImage, h: number, w: number, interpolation: Interpolation): FloatImage {
  const rows = resizeAxis(img.data, img.height, img.width * img.channels, h, interpolation, img.width * img.channels);
  const tmp = { data: rows, height: h, width: img.width, channels: img.channels };
  return transposeBack(
    resizeAxis(transpose(tmp), img.width, h * img.channels, w, interpolation, h * img.channels),
    h,
    w,
    img.channels,
  );
}

/** Resamples the outer axis of an [n, stride] array to [m, stride]. */
function resizeAxis(
  src: Float32Array,
  n: number,
  stride: number,
  m: number,
  interpolation: Interpolation,
  rowLen: number,
): Float32Array {
  const out = new Float32Array(m * rowLen);
  const scale = n / m;
  for (let i = 0; i < m; i++) {
    const s = (i + 0.5) * scale - 0.5;
    const taps = interpolation === 'linear' ? linearTaps(s, n) : cubicTaps(s, n);
    const dst = i * rowLen;
    for (const [index, weight] of taps) {
      const row = index * stride;
      for (let k = 0; k < rowLen; k++) out[dst + k] += weight * src[row + k];
    }
  }
  return out;
}

function linearTaps(s: number, n: number): [number, number][] {
  let i0 = Math.floor(s);
  let f = s - i0;
  if (i0 < 0) [i0, f] = [0, 0];
  if (i0 >= n - 1) [i0, f] = [n - 1, 0];
  return f === 0
    ? [[i0, 1]]
    : [
        [i0, 1 - f],
        [i0 + 1, f],
      ];
}

function cubicTaps(s: number, n: number): [number, number][] {
  const i0 = Math.floor(s);
  const f = s - i0;
  const A = -0.75;
  const w0 = ((A * (f + 1) - 5 * A) * (f + 1) + 8 * A) * (f + 1) - 4 * A;
  const w1 = ((A + 2) * f - (A + 3)) * f * f + 1;
  const w2 = ((A + 2) * (1 - f) - (A + 3)) * (1 - f) * (1 - f) + 1;
  const clampIndex = (i: number) => Math.min(n - 1, Math.max(0, i));
  return [
    [clampIndex(i0 - 1), w0],
    [clampIndex(i0), w1],
    [clampIndex(i0 + 1), w2],
    [clampIndex(i0 + 2), 1 - w0 - w1 - w2],
  ];
}

/** HWC → WHC, so the second pass resamples the width as an outer axis. */
function transpose(img: FloatImage): Float32Array {
  const { height: h, width: w, channels: c } = img;
  const out = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[(x * h + y) * c + k] = img.data[(y * w + x) * c + k];
  return out;
}

function transposeBack(data: Float32Array, h: number, w: number, c: number): FloatImage {
  const out = blank(h, w, c);
  for (let x = 0; x < w; x++)
    for (let y = 0; y < h; y++) for (let k = 0; k < c; k++) out.data[(y * w + x) * c + k] = data[(x * h + y) * c + k];
  return out;
}

/** ImageNet RGB colour PCA (AlexNet; values from fb.resnet.torch): eigenvalues and eigenvectors as columns. */
export const IMAGENET_EIGVAL = [0.2175, 0.0188, 0.0045];
export const IMAGENET_EIGVEC = [
  [-0.5675, 0.7192, 0.4009],
  [-0.5808, -0.0045, -0.814],
  [-0.5836, -0.6948, 0.4203],
];

/** The RGB offset AlexNet lighting noise adds to every pixel: eigvec · (alpha ∘ eigval), in tensorpack's order of operations. */
export function lightingOffset(alpha: number[], eigval: number[], eigvec: number[][]): number[] {
  const v = alpha.map((a, j) => a * eigval[j]);
  return [0, 1, 2].map((c) => eigvec[c].reduce((s, e, j) => s + e * v[j], 0));
}

/** Adds eigvec · (alpha ∘ eigval) to every pixel (AlexNet lighting noise). */
/**
 * The PCA eigen-decomposition for images in `order`: for bgr the eigenvalues reversed and the eigenvector matrix reversed
 * in both axes, as the ε-ResNet ImageNet code passes them ("rgb-bgr conversion", imagenetEpsilonResnet.py:215-222).
 */
export function lightingEigen(
  eigval: readonly number[],
  eigvec: readonly (readonly number[])[],
  order: 'rgb' | 'bgr',
): { eigval: number[]; eigvec: number[][] } {
  if (order === 'rgb') return { eigval: [...eigval], eigvec: eigvec.map((r) => [...r]) };
  return { eigval: [...eigval].reverse(), eigvec: [...eigvec].reverse().map((r) => [...r].reverse()) };
}

export function addLighting(img: FloatImage, alpha: number[], eigval: number[], eigvec: number[][]): FloatImage {
  return addPerChannel(img, lightingOffset(alpha, eigval, eigvec));
}

function addPerChannel(img: FloatImage, inc: number[]): FloatImage {
  const c = img.channels;
  const data = new Float32Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = img.data[i] + inc[i % c];
  return { ...img, data };
}

/** Weights of ITU-R 601 luminance (R, G, B), the grey a saturation change blends towards. */
export const GREY = [0.299, 0.587, 0.114];

/** The grey weights of images in `order`: bgr weighs B, G, R as cv2.COLOR_BGR2GRAY, which tensorpack 0.2.0's Saturation applies (imgaug/imgproc.py:196). */
export function greyWeights(order: 'rgb' | 'bgr'): number[] {
  return order === 'bgr' ? [...GREY].reverse() : GREY;
}

/** Blends each pixel with its grey value: v·img + (1 − v)·grey (tensorpack Saturation, grey by ITU-R 601). */
export function saturate(img: FloatImage, v: number, order: 'rgb' | 'bgr' = 'rgb'): FloatImage {
  const [w0, w1, w2] = greyWeights(order);
  const data = new Float32Array(img.data.length);
  for (let p = 0; p < data.length; p += 3) {
    const grey = w0 * img.data[p] + w1 * img.data[p + 1] + w2 * img.data[p + 2];
    for (let k = 0; k < 3; k++) data[p + k] = img.data[p + k] * v + grey * (1 - v);
  }
  return { ...img, data };
}

/** Mean of each channel over the image. */
export function channelMeans(img: FloatImage): number[] {
  const c = img.channels;
  const sum = new Float64Array(c);
  for (let i = 0; i < img.data.length; i++) sum[i % c] += img.data[i];
  const n = img.data.length / c;
  return Array.from(sum, (v) => v / n);
}

/** (x − mean)·r + mean per channel, mean over the image (tensorpack Contrast). */
export function adjustContrast(img: FloatImage, r: number): FloatImage {
  return addPerChannel(
    { ...img, data: img.data.map((v) => v * r) },
    channelMeans(img).map((m) => (1 - r) * m),
  );
}

export function addBrightness(img: FloatImage, delta: number): FloatImage {
  return addPerChannel(img, Array(img.channels).fill(delta));
}

/**
 * Maps every RGB pixel x to A·x + b (A row-major 3×3), optionally clipped to [0, 255], in one pass: brightness, contrast,
 * saturation and lighting are each such a map, so a sequence of them is one.
 */
export function colorAffine(img: FloatImage, A: number[], b: number[], clipTo255: boolean): FloatImage {
  const src = img.data;
  const data = new Float32Array(src.length);
  const [a0, a1, a2, a3, a4, a5, a6, a7, a8] = A;
  const [b0, b1, b2] = b;
  for (let p = 0; p < src.length; p += 3) {
    const r = src[p];
    const g = src[p + 1];
    const bl = src[p + 2];
    let o0 = a0 * r + a1 * g + a2 * bl + b0;
    let o1 = a3 * r + a4 * g + a5 * bl + b1;
    let o2 = a6 * r + a7 * g + a8 * bl + b2;
    if (clipTo255) {
      o0 = o0 < 0 ? 0 : o0 > 255 ? 255 : o0;
      o1 = o1 < 0 ? 0 : o1 > 255 ? 255 : o1;
      o2 = o2 < 0 ? 0 : o2 > 255 ? 255 : o2;
    }
    data[p] = o0;
    data[p + 1] = o1;
    data[p + 2] = o2;
  }
  return { ...img, data };
}

/** One image's colour-jitter draws, as they are applied. */
export interface JitterDraws {
  /** Steps in the order they run: 0 brightness, 1 contrast, 2 saturation, 3 lighting. */
  order: ArrayLike<number>;
  /** Brightness shift, or null when the step is off. */
  brightness: number | null;
  contrast: number;
  /** Saturation factor, or null when the step is off. */
  saturation: number | null;
  /** Per-channel lighting offset, or null when the step is off. */
  lighting: number[] | null;
  /** Grey weights of the channels as stored (the saturation step blends towards this grey). */
  grey: number[];
  clip: boolean;
}

const truncateClipped = (v: number): number => Math.trunc(v < 0 ? 0 : v > 255 ? 255 : v);

/**
 * tensorpack 0.2.0's colour augmentors on a uint8 image (dataflow/imgaug/imgproc.py), after rounding the input to
 * uint8 as cv2.resize returns it: Brightness and Contrast compute in float32 and clip, Saturation blends with
 * cv2.cvtColor's fixed-point grey in float64 and casts without clipping (out-of-range values wrap), Lighting adds in
 * float64 and clips; every cast truncates.
 */
export function jitterUint8(img: FloatImage, d: JitterDraws): FloatImage {
  const px = Uint8Array.from(img.data, (v) => Math.round(v < 0 ? 0 : v > 255 ? 255 : v));
  const f = Math.fround;
  // cv2.COLOR_BGR2GRAY (or RGB2GRAY) on 8-bit images: weights 1868, 9617, 4899 over 2^14, rounded.
  const [g0, g1, g2] = d.grey[0] < d.grey[2] ? [1868, 9617, 4899] : [4899, 9617, 1868];
  for (const step of Array.from(d.order)) {
    if (step === 0 && d.brightness !== null) {
      const v = f(d.brightness);
      for (let i = 0; i < px.length; i++) px[i] = truncateClipped(f(px[i] + v));
    } else if (step === 1) {
      const means = channelMeans({ ...img, data: Float32Array.from(px) }).map(f);
      const r = f(d.contrast);
      for (let i = 0; i < px.length; i++) px[i] = truncateClipped(f(f(f(px[i] - means[i % 3]) * r) + means[i % 3]));
    } else if (step === 2 && d.saturation !== null) {
      const v = d.saturation;
      for (let i = 0; i < px.length; i += 3) {
        const grey = (px[i] * g0 + px[i + 1] * g1 + px[i + 2] * g2 + 8192) >> 14;
        const g = grey * (1 - v);
        for (let k = 0; k < 3; k++) px[i + k] = Math.trunc(px[i + k] * v + g) & 0xff;
      }
    } else if (step === 3 && d.lighting !== null) {
      for (let i = 0; i < px.length; i++) px[i] = truncateClipped(px[i] + d.lighting[i % 3]);
    }
  }
  return { ...img, data: Float32Array.from(px) };
}
