import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkGeometry, geometrySize, planNative, type GeometryOp } from './geometry.js';
import type { JitterDraws } from './image-ops.js';

/**
 * The JPEG fast path (native/jpeg): libjpeg-turbo decodes only the rows and columns of an image's crop, at a reduced DCT
 * scale where the crop allows, and one native pass resizes, jitters colour, flips and normalises into the batch. The
 * random draws stay in JavaScript, made by the transforms' own code in the order their `apply` makes them.
 */

/** One colour, flip or normalisation step of an image, drawn before any pixel is read. */
export type FusedStep =
  | ({ kind: 'jitter' } & JitterDraws)
  | { kind: 'flip'; horizontal: boolean; vertical: boolean }
  | { kind: 'normalize'; scale: number[]; offset: number[] };

/** What a transform offers the fast path: the kind of step it fuses to, and the draw of one image's step. */
export interface Fusable {
  kind: FusedStep['kind'];
  /** Jitter only: tensorpack's uint8 arithmetic or float. */
  arithmetic?: 'uint8' | 'float';
  draw(rng: () => number, channels: number): FusedStep;
}

/** The parts of a transform the planner reads. */
export interface PlannedTransform {
  geometry?(height: number, width: number, rng: () => number): GeometryOp[];
  fused?: Fusable;
}

export interface JpegOptions {
  /** tensorpack's uint8 arithmetic: the resize rounds to uint8 (OpenCV's fixed point), each colour step truncates. */
  uint8: boolean;
  /** Decode at a reduced DCT scale (1/2, 1/4 or 1/8) when the crop stays at least as large as its resize. */
  dctScaling: boolean;
  /** Store pixels as B, G, R. */
  bgr: boolean;
  /** Frame headers claiming more pixels are refused before decoding. */
  maxPixels: number;
}

export type JpegResult = null | { kind: 'damaged' | 'unsupported'; reason: string };

export interface JpegAddon {
  /** Decodes and transforms the images into `out` on the calling thread (a pipeline worker: each fills whole batches). */
  decodeBatch(files: Buffer[], plans: Float64Array, out: Float32Array, options: JpegOptions): JpegResult[];
  /** CPU seconds the process's threads spent so far decoding, resizing and in the colour/flip/normalise pass, and the images they finished. */
  stageSeconds(): [number, number, number, number];
  planFields: number;
}

/** PIL's limit before it refuses an image as a decompression bomb (Image.MAX_IMAGE_PIXELS × 2). */
export const MAX_JPEG_PIXELS = 2 * 89_478_485;

/** Offsets of one image's plan; the same list as enum Field in native/jpeg/src/jpeg.cc. */
const F = {
  srcW: 0,
  srcH: 1,
  cropX: 2,
  cropY: 3,
  cropW: 4,
  cropH: 5,
  resizeW: 6,
  resizeH: 7,
  afterX: 8,
  afterY: 9,
  outW: 10,
  outH: 11,
  cubic: 12,
  flipH: 13,
  flipV: 14,
  jitter: 15,
  order: 16,
  brightOn: 20,
  bright: 21,
  contrast: 22,
  satOn: 23,
  sat: 24,
  lightOn: 25,
  light: 26,
  grey: 29,
  clip: 32,
  scale: 33,
  offset: 36,
  slot: 39,
} as const;
export const PLAN_FIELDS = 40;

const ADDON = join('native', 'jpeg', 'build', 'Release', 'epsilab_jpeg.node');
let loaded: JpegAddon | string | null = null;

/** The fast path's addon, built by `npm install` (native/install.mjs), or why it cannot be loaded. */
export function loadJpegAddon(): JpegAddon | string {
  if (loaded !== null) return loaded;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, ADDON)) && dirname(dir) !== dir) dir = dirname(dir);
  const path = join(dir, ADDON);
  if (!existsSync(path))
    return (loaded = 'the JPEG addon is not built (npm install builds it where libjpeg-turbo is installed)');
  try {
    const addon = createRequire(import.meta.url)(path) as JpegAddon;
    loaded =
      addon.planFields === PLAN_FIELDS
        ? addon
        : `the JPEG addon is out of date (rebuild it with node native/install.mjs)`;
  } catch (e) {
    loaded = `the JPEG addon failed to load (${(e as Error).message.split('\n')[0]})`;
  }
  return loaded;
}

/** How the fast path covers a transform chain. */
export interface FastCoverage {
  /** The leading transforms that only crop and resize. */
  head: number;
  arithmetic: 'uint8' | 'float';
}

/**
 * Whether the fast path covers the chain: transforms that only crop and resize, then fused steps (at most one colour
 * jitter and one normalisation, the normalisation last); otherwise why not, naming the transform.
 */
export function fastCoverage(transforms: PlannedTransform[], names: string[]): FastCoverage | string {
  let head = 0;
  while (head < transforms.length && transforms[head].geometry) head++;
  const seen = new Set<string>();
  let arithmetic: 'uint8' | 'float' = 'float';
  for (let i = head; i < transforms.length; i++) {
    const fused = transforms[i].fused;
    if (!fused) return `transform ${names[i]} has no native form`;
    if (fused.kind !== 'flip' && seen.has(fused.kind)) return `transform ${names[i]} appears twice`;
    if (seen.has('normalize')) return `transform ${names[i]} comes after channel-normalize`;
    seen.add(fused.kind);
    if (fused.arithmetic) arithmetic = fused.arithmetic;
  }
  return { head, arithmetic };
}

/**
 * Writes image `slot`'s plan into `plans`: the geometry drawn from `rng` by the leading transforms, then each fused
 * step's draws. Returns the output [height, width], or null when the geometry does not fold into one crop, resize and
 * crop (the image then takes the general path, drawing anew).
 */
export function planImage(
  transforms: PlannedTransform[],
  coverage: FastCoverage,
  size: { height: number; width: number },
  rng: () => number,
  plans: Float64Array,
  slot: number,
): [number, number] | null {
  let [h, w] = [size.height, size.width];
  const ops: GeometryOp[] = [];
  for (let i = 0; i < coverage.head; i++) {
    const steps = transforms[i].geometry!(h, w, rng);
    checkGeometry(steps, h, w);
    ops.push(...steps);
    [h, w] = geometrySize(steps, h, w);
  }
  const { plan, rest } = planNative(ops, size.height, size.width, Infinity);
  if (rest.length > 0) return null;
  const p = plans.subarray(slot * PLAN_FIELDS, (slot + 1) * PLAN_FIELDS);
  p.fill(0);
  const crop = plan.before ?? { x: 0, y: 0, width: size.width, height: size.height };
  const resized = plan.resize ?? { width: crop.width, height: crop.height, interpolation: 'linear' as const };
  const after = plan.after ?? { x: 0, y: 0, width: resized.width, height: resized.height };
  p.set([size.width, size.height, crop.x, crop.y, crop.width, crop.height, resized.width, resized.height], F.srcW);
  p.set([after.x, after.y, after.width, after.height, resized.interpolation === 'cubic' ? 1 : 0], F.afterX);
  p.set([1, 1, 1, 0, 0, 0], F.scale);
  p[F.slot] = slot;
  for (let i = coverage.head; i < transforms.length; i++) {
    const step = transforms[i].fused!.draw(rng, 3);
    if (step.kind === 'flip') {
      // Two flips of the same axis cancel.
      p[F.flipH] = Number(p[F.flipH] !== Number(step.horizontal));
      p[F.flipV] = Number(p[F.flipV] !== Number(step.vertical));
    } else if (step.kind === 'normalize') {
      p.set(step.scale, F.scale);
      p.set(step.offset, F.offset);
    } else {
      p[F.jitter] = 1;
      p.set(Array.from(step.order), F.order);
      p[F.brightOn] = Number(step.brightness !== null);
      p[F.bright] = step.brightness ?? 0;
      p[F.contrast] = step.contrast;
      p[F.satOn] = Number(step.saturation !== null);
      p[F.sat] = step.saturation ?? 1;
      p[F.lightOn] = Number(step.lighting !== null);
      p.set(step.lighting ?? [0, 0, 0], F.light);
      p.set(step.grey, F.grey);
      p[F.clip] = Number(step.clip);
    }
  }
  return [after.height, after.width];
}
