import type { FloatImage, ImageSet } from './types.js';
import { toFloat } from './image-ops.js';
import { imageFile } from './image-set.js';
import { DamagedImageError } from './decode-image.js';
import { readImageFile } from './image-file.js';
import { InputError } from '../util/errors.js';
import type { SharpModule } from './native-image.js';
import { permutation, rngFor } from './rng.js';
import type { TransformChain } from './transform-chain.js';
import { planImage, PLAN_FIELDS, type FastCoverage, type JpegAddon, type JpegOptions } from './fast-jpeg.js';
import { imageSize } from './native-image.js';

/** A batch on the host: x is NHWC float32, y the class ids; `step` is its index within the epoch. */
export interface HostBatch {
  x: Float32Array;
  y: Int32Array;
  shape: [number, number, number, number];
  step: number;
  /** Hands x's memory back for a later batch (no fresh 38 MB per ImageNet batch to fault in and collect); call once nothing reads x. */
  release?(): void;
}

/** What fixes the order and grouping of an epoch's images. */
export interface EpochPlan {
  size: number;
  batchSize: number;
  shuffle: boolean;
  seed: number;
  dropRemainder: boolean;
  /** Cap on steps per epoch (reduced-scale runs). */
  stepsPerEpoch?: number;
  /** Data-parallel: this rank reads only part `index` of `count` equal parts of each batch (tower `index`'s images). */
  shard?: { index: number; count: number };
}

export function stepsPerEpoch(p: EpochPlan): number {
  const full = p.dropRemainder ? Math.floor(p.size / p.batchSize) : Math.ceil(p.size / p.batchSize);
  return p.stepsPerEpoch === undefined ? full : Math.min(full, p.stepsPerEpoch);
}

/** The epoch's image order: a permutation that depends only on (seed, epoch), or file order without shuffling. */
export function epochOrder(p: EpochPlan, epoch: number): Int32Array {
  if (!p.shuffle) return Int32Array.from({ length: p.size }, (_, i) => i);
  return permutation(p.size, rngFor(p.seed, epoch));
}

export function stepIndices(p: EpochPlan, order: Int32Array, step: number): Int32Array {
  const batch = order.subarray(step * p.batchSize, Math.min((step + 1) * p.batchSize, p.size));
  if (!p.shard) return batch;
  const per = batch.length / p.shard.count;
  return batch.subarray(p.shard.index * per, (p.shard.index + 1) * per);
}

/** Why a data-parallel plan's batches do not all split into equal parts over its ranks, or null. */
export function unevenBatch(p: EpochPlan): string | null {
  if (!p.shard) return null;
  const last = p.size - (stepsPerEpoch(p) - 1) * p.batchSize;
  const sizes = [p.batchSize, Math.min(last, p.batchSize)];
  const bad = sizes.find((n) => n % p.shard!.count !== 0);
  return bad === undefined
    ? null
    : `a batch of ${bad} images does not split into ${p.shard.count} equal parts, one per rank: ${bad === p.batchSize ? 'choose a train.batch_size divisible by the ranks' : 'the last batch of each epoch is short: set train.drop_remainder: true'}`;
}

/** How a batch's images are read: natively (libvips) when a sharp module is given, how many at once, and where damaged files are reported. */
export interface DecodeOptions {
  sharp: SharpModule | null;
  /** Images decoded at the same time (native decoding runs on libuv's thread pool). */
  concurrency: number;
  /** Called for each damaged image left out of its batch (sets whose policy is to skip them). */
  onDamaged?(file: string, reason: string): void;
  /** The JPEG fast path, where it covers the chain; JPEG files then decode natively into the batch. */
  fast?: FastDecoding | null;
  /** A released batch buffer of that many floats to reuse, if one is free. */
  reuse?(length: number): Float32Array | undefined;
}

/** Released batch buffers kept for reuse, per thread that fills them. */
export const KEEP_FREE = 4;

/** A free buffer of `length` floats, taken off the list; the batch overwrites its stale values whole. */
export function takeFree(free: Float32Array[], length: number): Float32Array | undefined {
  const i = free.findIndex((b) => b.length === length);
  return i < 0 ? undefined : free.splice(i, 1)[0];
}

/** The JPEG fast path as a batch uses it. */
export interface FastDecoding {
  addon: JpegAddon;
  coverage: FastCoverage;
  options: Omit<JpegOptions, 'bgr'>;
}

/**
 * Decodes, transforms and stacks the images at `indices`. Each image's random draws come from
 * (seed, epoch, image index) alone, so a batch is the same whichever thread makes it and whenever.
 * Damaged image files are left out (the batch is smaller) when their set says to skip them; otherwise they stop it.
 */
export async function assembleBatch(
  set: ImageSet,
  chain: TransformChain,
  indices: Int32Array,
  seed: number,
  epoch: number,
  step: number,
  o: DecodeOptions,
): Promise<HostBatch> {
  if (o.fast && indices.length > 0 && imageFile(set, indices[0]))
    return assembleFast(set, chain, indices, seed, epoch, step, o, o.fast);
  const images: (FloatImage | null)[] = new Array(indices.length).fill(null);
  const prepare = async (i: number): Promise<void> => {
    const index = indices[i];
    const rng = rngFor(seed, epoch, index);
    const source = imageFile(set, index);
    try {
      images[i] =
        source && o.sharp
          ? await chain.applyEncoded(o.sharp, readImageFile(source.file), source.file, source.channels, rng, source.bgr)
          : chain.apply(toFloat(set.image(index)), rng);
    } catch (e) {
      if (!(e instanceof DamagedImageError && source?.onDamaged === 'skip')) throw e;
      o.onDamaged?.(e.file, e.reason);
    }
  };
  let next = 0;
  let failed = false;
  const lanes = Array.from({ length: Math.max(1, Math.min(o.concurrency, indices.length)) }, async () => {
    try {
      while (next < indices.length && !failed) await prepare(next++);
    } catch (e) {
      failed = true;
      throw e;
    }
  });
  await Promise.all(lanes);
  const kept = images.flatMap((img, i) => (img ? [i] : []));
  const first = images[kept[0]];
  const shape: [number, number, number] = first ? [first.height, first.width, first.channels] : [0, 0, 0];
  const per = first ? first.data.length : 0;
  const x = o.reuse?.(kept.length * per) ?? new Float32Array(kept.length * per);
  const y = new Int32Array(kept.length);
  kept.forEach((i, k) => {
    const img = images[i]!;
    if (img.height !== shape[0] || img.width !== shape[1] || img.channels !== shape[2]) {
      throw new InputError(
        `${imageFile(set, indices[i])?.file ?? `image ${indices[i]}`}: ${img.height}×${img.width}×${img.channels} after the transforms, the others in its batch are ${shape.join('×')}; add resize or crop transforms so every image has one shape`,
      );
    }
    x.set(img.data, k * per);
    y[k] = set.labels[indices[i]];
  });
  return { x, y, shape: [kept.length, ...shape], step };
}

/**
 * assembleBatch with the JPEG fast path: each JPEG's plan is drawn here (the transforms' own draws, from the same
 * per-image random stream), then the addon decodes and transforms them on this thread straight into the batch. Other files
 * (PNG, CMYK JPEGs, geometry that does not fold into one crop and resize) take the general path into their slot.
 */
async function assembleFast(
  set: ImageSet,
  chain: TransformChain,
  indices: Int32Array,
  seed: number,
  epoch: number,
  step: number,
  o: DecodeOptions,
  fast: FastDecoding,
): Promise<HostBatch> {
  const n = indices.length;
  const plans = new Float64Array(n * PLAN_FIELDS);
  const files: Buffer[] = [];
  const jobs: number[] = [];
  const general: number[] = [];
  let shape: [number, number, number] | null = null;
  let x: Float32Array | undefined;
  const fits = (i: number, h: number, w: number, c: number) => {
    shape ??= [h, w, c];
    if (shape[0] !== h || shape[1] !== w || shape[2] !== c) {
      throw new InputError(
        `${imageFile(set, indices[i])?.file ?? `image ${indices[i]}`}: ${h}×${w}×${c} after the transforms, the others in its batch are ${shape.join('×')}; add resize or crop transforms so every image has one shape`,
      );
    }
  };
  let bgr = false;
  for (let i = 0; i < n; i++) {
    const source = imageFile(set, indices[i]);
    let bytes: Buffer | null;
    try {
      bytes = source && source.channels === 3 ? readImageFile(source.file) : null;
    } catch {
      // the general path reads it again and words the failure (or skips the file, as its set says)
      general.push(i);
      continue;
    }
    const size = bytes && bytes[0] === 0xff && bytes[1] === 0xd8 ? imageSize(bytes) : null;
    const out = size
      ? planImage(chain.transforms, fast.coverage, size, rngFor(seed, epoch, indices[i]), plans, i)
      : null;
    if (!out) {
      general.push(i);
      continue;
    }
    fits(i, out[0], out[1], 3);
    bgr = source!.bgr;
    files.push(bytes!);
    jobs.push(i);
  }
  const per = () => shape![0] * shape![1] * shape![2];
  const allocate = () => o.reuse?.(n * per()) ?? new Float32Array(n * per());
  const results =
    jobs.length > 0
      ? fast.addon.decodeBatch(files, compact(plans, jobs), (x ??= allocate()), { ...fast.options, bgr })
      : [];
  const kept = new Array<boolean>(n).fill(true);
  const damaged = (i: number, e: unknown) => {
    const source = imageFile(set, indices[i]);
    if (!(e instanceof DamagedImageError && source?.onDamaged === 'skip')) throw e;
    o.onDamaged?.(e.file, e.reason);
    kept[i] = false;
  };
  results.forEach((r, j) => {
    if (r?.kind === 'unsupported') general.push(jobs[j]);
    else if (r) damaged(jobs[j], new DamagedImageError(imageFile(set, indices[jobs[j]])!.file, r.reason));
  });
  for (const i of general.sort((a, b) => a - b)) {
    const index = indices[i];
    const source = imageFile(set, index)!;
    const rng = rngFor(seed, epoch, index);
    try {
      const img = o.sharp
        ? await chain.applyEncoded(o.sharp, readImageFile(source.file), source.file, source.channels, rng, source.bgr)
        : chain.apply(toFloat(set.image(index)), rng);
      fits(i, img.height, img.width, img.channels);
      (x ??= allocate()).set(img.data, i * per());
    } catch (e) {
      damaged(i, e);
    }
  }
  const slots = kept.flatMap((k, i) => (k ? [i] : []));
  const [h, w, c] = shape ?? ([0, 0, 0] as [number, number, number]);
  if (!x || slots.length === 0) return { x: new Float32Array(0), y: new Int32Array(0), shape: [0, h, w, c], step };
  const size = h * w * c;
  const full = x;
  const batch = slots.length === n ? full : new Float32Array(slots.length * size);
  if (batch !== full) slots.forEach((i, k) => batch.set(full.subarray(i * size, (i + 1) * size), k * size));
  return { x: batch, y: Int32Array.from(slots, (i) => set.labels[indices[i]]), shape: [slots.length, h, w, c], step };
}

/** The plans of the jobs, in job order, each keeping its batch slot. */
function compact(plans: Float64Array, jobs: number[]): Float64Array {
  const out = new Float64Array(jobs.length * PLAN_FIELDS);
  jobs.forEach((i, j) => out.set(plans.subarray(i * PLAN_FIELDS, (i + 1) * PLAN_FIELDS), j * PLAN_FIELDS));
  return out;
}
