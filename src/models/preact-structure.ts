/** Block layout of the pre-activation ResNets (CIFAR stages, ImageNet groups), shared by the builders and the compressor. */

export const STAGES = [1, 2, 3] as const;

export function blockName(stage: number, index: number): string {
  return `res${stage}.${index}`;
}

/** Blocks per stage of a depth-(6n+2) network: 3 stages × n blocks × 2 convs, plus conv0 and the FC. */
export function unitsFromDepth(depth: number): number {
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) {
    throw new Error(`depth must be 6n+2 with n ≥ 1 (8, 14, 20, 32, 44, 56, 110, 200, 500, 752, ...); got ${depth}`);
  }
  return (depth - 2) / 6;
}

/** The original's side-output position (cifarEpsilonResnet.py:116-117): after res2.{n/2} (Python 2 division), the middle block of the middle stage. */
export function defaultSidePosition(n: number): string {
  return blockName(2, Math.floor(n / 2));
}

export interface StageLayout {
  stage: number;
  /** Stage 2 or 3 whose first block was discarded: it opens with the option-A shortcut alone (compressModel.py). */
  downsampleOnly: boolean;
  /** Indices of the blocks built, in order; `res<stage>.<index>`. */
  blocks: number[];
}

/**
 * Blocks each stage builds. Without `structure` every stage has blocks 0..n-1. With it (a compressed model) stage s keeps
 * structure[s] blocks numbered from discard_first_block[s]: from 1 when its first block was discarded.
 */
export function stageLayout(
  n: number,
  structure: readonly number[] | null,
  discardFirstBlock: readonly number[],
): StageLayout[] {
  return groupLayout([n, n, n], structure, discardFirstBlock, 'stage').map((g, s) => ({
    stage: STAGES[s],
    downsampleOnly: s > 0 && g.shortcutOnly,
    blocks: g.blocks,
  }));
}

export interface GroupLayout {
  /** The group's first block was discarded: it opens with that block's shortcut path alone (compressModel.py). */
  shortcutOnly: boolean;
  /** Indices of the blocks built, in order. */
  blocks: number[];
}

/**
 * Blocks each group (CIFAR stage, ImageNet group) of a network with `units` blocks per group builds; `structure` and
 * `discard_first_block` as compressModel.py's .cfg writes them (yuxwind/epsilonResnet scripts/compressModel.py:170-181).
 */
export function groupLayout(
  units: readonly number[],
  structure: readonly number[] | null,
  discardFirstBlock: readonly number[],
  word = 'group',
): GroupLayout[] {
  const k = units.length;
  const count = k === 3 ? 'three' : k === 4 ? 'four' : String(k);
  if (discardFirstBlock.length !== k || !discardFirstBlock.every((d) => d === 0 || d === 1)) {
    throw new Error(
      `discard_first_block must be ${count} 0/1 flags, one per ${word}; got ${JSON.stringify(discardFirstBlock)}`,
    );
  }
  if (structure === null) {
    if (discardFirstBlock.some((d) => d === 1))
      throw new Error(`discard_first_block needs structure (kept blocks per ${word})`);
    return units.map((n) => ({ shortcutOnly: false, blocks: range(0, n) }));
  }
  if (structure.length !== k)
    throw new Error(`structure must list kept blocks for the ${k} ${word}s; got ${JSON.stringify(structure)}`);
  return units.map((n, s) => {
    const kept = structure[s];
    const first = discardFirstBlock[s];
    if (!Number.isInteger(kept) || kept < 0 || kept + first > n) {
      throw new Error(
        `structure[${s}] = ${kept} with discard_first_block[${s}] = ${first} does not fit a ${word} of ${n} blocks`,
      );
    }
    if (kept === 0 && first === 0)
      throw new Error(
        `${word} ${word === 'stage' ? s + 1 : s} keeps no block, so its first block is discarded: set discard_first_block[${s}] = 1`,
      );
    return { shortcutOnly: first === 1, blocks: range(first, first + kept) };
  });
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
