import { blockName, stageLayout, unitsFromDepth } from './preact-structure.js';

/** The parts of a trained CIFAR ε-ResNet's model section that fix its blocks. */
export interface CompressSource {
  depth: number;
  structure?: readonly number[] | null;
  discard_first_block?: readonly number[];
}

/** What removing blocks from a trained ε-ResNet gives (spec §1.6, compressModel.py). */
export interface CompressionPlan {
  /** Model section of the compressed network: a standard pre-activation ResNet, no gate, no side head. */
  model: { type: 'preact-resnet'; depth: number; epsilon: null; side_output: null; structure: number[]; discard_first_block: number[] };
  /** Removed blocks, by stage then index. */
  discarded: string[];
  /** Kept block → its name in the compressed network (res2.7 → res2.5). */
  blockMap: Record<string, string>;
  /** Kept variable → its new name; side-head, gate-memory (`<block>/identity`) and discarded-block variables are absent. */
  weightMap: Record<string, string>;
}

const KEPT_AS_IS = ['conv0/', 'bnlast/', 'linear/'];

/**
 * Plans the compressed model: per stage the kept blocks are renumbered consecutively, from 1 when the stage's first block
 * was discarded (discard_first_block = 1). Unlike the seed, a discarded res1.0 is honoured too: its shortcut is the
 * identity, so stage 1 simply starts at res1.1 (the seed rebuilt res1.0 with freshly initialised weights).
 */
export function planCompression(source: CompressSource, variableNames: readonly string[], discarded: readonly string[]): CompressionPlan {
  const n = unitsFromDepth(source.depth);
  const layout = stageLayout(n, source.structure ?? null, source.discard_first_block ?? [0, 0, 0]);
  const existing = new Set(layout.flatMap((s) => s.blocks.map((i) => blockName(s.stage, i))));
  const unknown = discarded.filter((b) => !existing.has(b));
  if (unknown.length > 0) throw new Error(`cannot discard ${unknown.join(', ')}: not blocks of this network`);
  const gone = new Set(discarded);

  const blockMap: Record<string, string> = {};
  const structure: number[] = [];
  const discardFirstBlock: number[] = [];
  for (const { stage, blocks } of layout) {
    const kept = blocks.filter((i) => !gone.has(blockName(stage, i)));
    const first = kept.includes(0) ? 0 : 1;
    kept.forEach((i, k) => (blockMap[blockName(stage, i)] = blockName(stage, k + first)));
    structure.push(kept.length);
    discardFirstBlock.push(first);
  }

  const weightMap: Record<string, string> = {};
  for (const name of variableNames) {
    if (KEPT_AS_IS.some((p) => name.startsWith(p))) weightMap[name] = name;
    else if (name.startsWith('side_output/') || name.endsWith('/identity')) continue;
    else {
      const block = name.slice(0, name.indexOf('/'));
      if (!existing.has(block)) throw new Error(`variable ${name} is not part of a pre-activation ResNet of depth ${source.depth}`);
      if (!gone.has(block)) weightMap[name] = blockMap[block] + name.slice(block.length);
    }
  }

  const rank = (b: string) => {
    const [stage, index] = b.slice('res'.length).split('.').map(Number);
    return stage * 1e6 + index;
  };
  return {
    model: { type: 'preact-resnet', depth: source.depth, epsilon: null, side_output: null, structure, discard_first_block: discardFirstBlock },
    discarded: [...gone].sort((a, b) => rank(a) - rank(b)),
    blockMap,
    weightMap,
  };
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
