import type { FloatImage } from './types.js';
import { crop, resize, type Interpolation } from './image-ops.js';

/** A window of an image, in whole pixels. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * One geometric step of a transform, decided before any pixel is read: cropping and resizing only need the image size
 * (and the transform's random draws), so a native decoder can fold them into decoding.
 */
export type GeometryOp =
  | ({ op: 'crop' } & Rect)
  | { op: 'resize'; width: number; height: number; interpolation: Interpolation };

/** Runs the steps on decoded pixels (OpenCV semantics, as the transforms always have). */
export function applyGeometry(img: FloatImage, ops: GeometryOp[]): FloatImage {
  return ops.reduce(
    (out, o) =>
      o.op === 'crop' ? crop(out, o.y, o.x, o.height, o.width) : resize(out, o.height, o.width, o.interpolation),
    img,
  );
}

/** Throws as `crop` would when a crop does not fit the image it applies to (before a native decoder sees it). */
export function checkGeometry(ops: GeometryOp[], height: number, width: number): void {
  let [h, w] = [height, width];
  for (const o of ops) {
    if (o.op === 'crop' && (o.y < 0 || o.x < 0 || o.y + o.height > h || o.x + o.width > w)) {
      throw new Error(`crop ${o.height}×${o.width} at (${o.y}, ${o.x}) does not fit a ${h}×${w} image`);
    }
    [h, w] = [o.height, o.width];
  }
}

/** The size an image of `height`×`width` has after the steps. */
export function geometrySize(ops: GeometryOp[], height: number, width: number): [number, number] {
  const last = ops[ops.length - 1];
  return last ? [last.height, last.width] : [height, width];
}

/**
 * What a native decoder does in one pass: crop a window of the file's image, resize it, crop the result. When the
 * resize shrinks the window at least `shrinkOnLoad` times, the first crop moves after the resize (scaled), so the
 * decoder may shrink the JPEG while it decodes it (libvips shrink-on-load) and the resize works on fewer pixels;
 * the window then lands within half an output pixel of where the exact order puts it.
 */
export interface NativePlan {
  before?: Rect;
  resize?: { width: number; height: number; interpolation: Interpolation };
  after?: Rect;
}

/** Folds the leading steps into one native plan (crop* resize? crop*); the steps it cannot fold are returned to run on the pixels. */
export function planNative(
  ops: GeometryOp[],
  height: number,
  width: number,
  shrinkOnLoad = 3,
): { plan: NativePlan; rest: GeometryOp[] } {
  const plan: NativePlan = {};
  let i = 0;
  for (; i < ops.length; i++) {
    const o = ops[i];
    if (o.op === 'resize') {
      if (plan.resize) break;
      plan.resize = { width: o.width, height: o.height, interpolation: o.interpolation };
    } else if (!plan.resize) plan.before = within(plan.before, o);
    else plan.after = within(plan.after, o);
  }
  const { before, resize: r } = plan;
  if (before && r) {
    const sx = r.width / before.width;
    const sy = r.height / before.height;
    if (Math.min(1 / sx, 1 / sy) >= shrinkOnLoad) {
      const full = {
        width: Math.max(1, Math.round(width * sx)),
        height: Math.max(1, Math.round(height * sy)),
        interpolation: r.interpolation,
      };
      const moved = {
        x: Math.min(Math.round(before.x * sx), full.width - r.width),
        y: Math.min(Math.round(before.y * sy), full.height - r.height),
        width: r.width,
        height: r.height,
      };
      return { plan: { resize: full, after: plan.after ? within(moved, plan.after) : moved }, rest: ops.slice(i) };
    }
  }
  return { plan, rest: ops.slice(i) };
}

/** The window `inner` (relative to `outer`) in the coordinates `outer` is given in. */
function within(outer: Rect | undefined, inner: Rect): Rect {
  return outer
    ? { x: outer.x + inner.x, y: outer.y + inner.y, width: inner.width, height: inner.height }
    : { x: inner.x, y: inner.y, width: inner.width, height: inner.height };
}
