import { imagenetBlockNames, imagenetSidePosition, imagenetUnits, type ImagenetDepth } from './preact-imagenet.js';
import { sideOutputSettings, type SideOutputParams } from './preact-params.js';
import { blockName, stageLayout, unitsFromDepth } from './preact-structure.js';

/** A rule a model section breaks that its schema cannot express, at a path relative to the section. */
export interface ParamProblem {
  path: string;
  message: string;
}

/** The CIFAR pre-act ResNet builder's own rules (depth 6n+2, structure, side position), checked before anything is built. */
export function preactCifarProblems(p: {
  depth: number;
  structure: readonly number[] | null;
  discard_first_block: readonly number[];
  side_output: SideOutputParams;
}): ParamProblem[] {
  let n: number;
  try {
    n = unitsFromDepth(p.depth);
  } catch (e) {
    return [{ path: 'depth', message: (e as Error).message }];
  }
  let blocks: string[];
  try {
    blocks = stageLayout(n, p.structure, p.discard_first_block).flatMap((s) =>
      s.blocks.map((i) => blockName(s.stage, i)),
    );
  } catch (e) {
    return [{ path: p.structure === null ? 'discard_first_block' : 'structure', message: (e as Error).message }];
  }
  const after = sideOutputSettings(p.side_output)?.after;
  return after && !blocks.includes(after)
    ? [
        {
          path: 'side_output.after',
          message: `${after} is not a block of this network (${blocks[0]} … ${blocks[blocks.length - 1]})`,
        },
      ]
    : [];
}

/** The ImageNet builder's rules: structure fits the groups; a named side block must exist; ResNet-18 has no default position. */
export function preactImagenetProblems(p: {
  depth: number;
  units: readonly number[] | null;
  structure: readonly number[] | null;
  discard_first_block: readonly number[];
  side_output: SideOutputParams;
}): ParamProblem[] {
  const depth = p.depth as ImagenetDepth;
  let blocks: string[];
  try {
    blocks = imagenetBlockNames(depth, p.units, p.structure, p.discard_first_block);
  } catch (e) {
    return [{ path: p.structure === null ? 'discard_first_block' : 'structure', message: (e as Error).message }];
  }
  const side = sideOutputSettings(p.side_output);
  if (!side) return [];
  if (side.after === null) {
    try {
      imagenetSidePosition(depth, imagenetUnits(depth, p.units));
    } catch (e) {
      return [{ path: 'side_output', message: (e as Error).message }];
    }
    return [];
  }
  return blocks.includes(side.after)
    ? []
    : [{ path: 'side_output.after', message: `${side.after} is not a block of ResNet-${depth}` }];
}
