/** Block layout of the pre-activation ResNets (CIFAR stages, ImageNet groups), shared by both families and the compressor. */

/** A rule a model section breaks that its schema cannot express, at a path relative to the section. */
export interface ParamProblem {
  path: string;
  message: string;
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
