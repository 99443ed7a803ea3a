import type { ModelCompression, ModelSection } from '../registry/component.js';
import { groupLayout } from './preact-structure.js';

/** What removing blocks from a trained ε-ResNet gives (yuxwind/epsilonResnet scripts/compressModel.py). */
export interface CompressionPlan {
  /** Model section of the compressed network: the same family, no gate, no side head. */
  model: ModelSection & { structure: number[]; discard_first_block: number[] };
  /** Removed blocks, by group then index. */
  discarded: string[];
  /** Kept block → its name in the compressed network (res2.7 → res2.5, group2/block9 → group2/block7). */
  blockMap: Record<string, string>;
  /** Kept variable → its new name; side-head, gate-memory (`<block>/identity`) and discarded-block variables are absent. */
  weightMap: Record<string, string>;
}

const KEPT_AS_IS = ['conv0/', 'bnlast/', 'linear/'];

/**
 * Plans the compressed model as compressModel.py:144-187 does: per group the kept blocks are renumbered consecutively,
 * from 1 when the group's first block was discarded (discard_first_block = 1). That block's shortcut path stays: its
 * `convshortcut` (ImageNet, kept as-is as compressModel.py:236 keeps it) with the pre-activation BN in front of it, or
 * CIFAR's parameter-free option-A shortcut. Unlike the original, a discarded res1.0 is honoured too: its shortcut is the
 * identity, so stage 1 simply starts at res1.1 (the original rebuilt res1.0 with freshly initialised weights); and any
 * 6n+2 depth compresses, where compressModel.py:123 accepts only n ∈ {18, 33, 83, 125} (not SVHN's n = 50).
 */
export function planCompression(
  fam: ModelCompression,
  variableNames: readonly string[],
  discarded: readonly string[],
): CompressionPlan {
  const layout = groupLayout(fam.units, fam.structure, fam.discardFirstBlock);
  const existing = new Set(layout.flatMap((l, g) => l.blocks.map((i) => fam.name(g + fam.firstGroup, i))));
  const unknown = discarded.filter((b) => !existing.has(b));
  if (unknown.length > 0) throw new Error(`cannot discard ${unknown.join(', ')}: not blocks of this network`);
  const gone = new Set(discarded);

  const blockMap: Record<string, string> = {};
  const structure: number[] = [];
  const discardFirstBlock: number[] = [];
  layout.forEach(({ blocks }, g) => {
    const group = g + fam.firstGroup;
    const kept = blocks.filter((i) => !gone.has(fam.name(group, i)));
    const first = kept.includes(0) ? 0 : 1;
    kept.forEach((i, k) => (blockMap[fam.name(group, i)] = fam.name(group, k + first)));
    structure.push(kept.length);
    discardFirstBlock.push(first);
  });

  /** A discarded (or already shortcut-only) first block of a group: its shortcut path is all that remains of it. */
  const openings = new Set(layout.map((_, g) => fam.name(g + fam.firstGroup, 0)).filter((b) => !blockMap[b]));
  const weightMap: Record<string, string> = {};
  for (const name of variableNames) {
    if (KEPT_AS_IS.some((p) => name.startsWith(p))) weightMap[name] = name;
    else if (name.endsWith('/identity')) continue;
    else {
      const block = fam.blockOf(name);
      if (block === null) continue;
      const rest = name.slice(block.length);
      if (openings.has(block) && (rest.startsWith('/convshortcut/') || rest.startsWith('/preact/')))
        weightMap[name] = name;
      else if (!existing.has(block) && !openings.has(block))
        throw new Error(`variable ${name} is not part of this network (${fam.units.join(', ')} blocks per group)`);
      else if (!gone.has(block) && blockMap[block]) weightMap[name] = blockMap[block] + rest;
    }
  }

  const rank = (b: string) => {
    const [group, index] = (b.match(/\d+/g) ?? []).map(Number);
    return group * 1e6 + index;
  };
  const model = { ...fam.section(structure, discardFirstBlock), structure, discard_first_block: discardFirstBlock };
  return { model, discarded: [...gone].sort((a, b) => rank(a) - rank(b)), blockMap, weightMap };
}

/** The weights of the compressed model, by their new names. */
export function remapWeights<T>(plan: CompressionPlan, weights: ReadonlyMap<string, T>): Map<string, T> {
  const out = new Map<string, T>();
  for (const [from, to] of Object.entries(plan.weightMap)) {
    const value = weights.get(from);
    if (value === undefined) throw new Error(`no weight named ${from}`);
    out.set(to, value);
  }
  return out;
}
