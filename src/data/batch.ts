import type { ImageSet } from './types.js';
import { toFloat } from './image-ops.js';
import { permutation, rngFor } from './rng.js';
import type { TransformChain } from './transform-chain.js';

/** A batch on the host: x is NHWC float32, y the class ids; `step` is its index within the epoch. */
export interface HostBatch {
  x: Float32Array;
  y: Int32Array;
  shape: [number, number, number, number];
  step: number;
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
  return order.subarray(step * p.batchSize, Math.min((step + 1) * p.batchSize, p.size));
}

/**
 * Decodes, transforms and stacks the images at `indices`. Each image's random draws come from
 * (seed, epoch, image index) alone, so a batch is the same whichever thread makes it and whenever.
 */
export function assembleBatch(set: ImageSet, chain: TransformChain, indices: Int32Array, seed: number, epoch: number, step: number): HostBatch {
  let x: Float32Array | null = null;
  let shape: [number, number, number] = [0, 0, 0];
  const y = new Int32Array(indices.length);
  indices.forEach((index, i) => {
    const img = chain.apply(toFloat(set.image(index)), rngFor(seed, epoch, index));
    if (!x) {
      shape = [img.height, img.width, img.channels];
      x = new Float32Array(indices.length * img.data.length);
    } else if (img.height !== shape[0] || img.width !== shape[1] || img.channels !== shape[2]) {
      throw new Error(
        `image ${index} is ${img.height}×${img.width}×${img.channels} after the transforms but others in its batch are ${shape.join('×')}; add resize or crop transforms so every image has one shape`,
      );
    }
    x.set(img.data, i * img.data.length);
    y[i] = set.labels[index];
  });
  return { x: x ?? new Float32Array(0), y, shape: [indices.length, ...shape], step };
}
