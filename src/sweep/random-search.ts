import { hashKeys, randint, rngFor, uniform } from '../data/rng.js';
import type { Distribution, RandomSearch } from './sweep-file.js';

/** Drawn floats keep this many significant digits: short slugs, and values that read back exactly from YAML. */
const SIGNIFICANT_DIGITS = 6;

/** What is wrong with a distribution's bounds, or null. */
export function boundsProblem(d: Distribution): string | null {
  const [kind, value] = Object.entries(d)[0] as [string, unknown[]];
  if (kind === 'choice') return null;
  const [low, high] = value as number[];
  if (kind === 'int' ? low > high : low >= high)
    return `${kind}: [${low}, ${high}] is empty; give [low, high] with low ${kind === 'int' ? '<=' : '<'} high`;
  return null;
}

/** One value of a distribution from a uniform [0, 1) generator. */
function draw(d: Distribution, rng: () => number): unknown {
  const round = (x: number) => Number(x.toPrecision(SIGNIFICANT_DIGITS));
  if ('uniform' in d) return round(uniform(rng, d.uniform[0], d.uniform[1]));
  if ('log_uniform' in d) return round(Math.exp(uniform(rng, Math.log(d.log_uniform[0]), Math.log(d.log_uniform[1]))));
  if ('int' in d) return d.int[0] + randint(rng, d.int[1] - d.int[0] + 1);
  return d.choice[randint(rng, d.choice.length)];
}

/** A number for a config path, so each path draws from its own stream whatever the others are. */
const pathKey = (path: string) => hashKeys(...[...path].map((c) => c.codePointAt(0)!));

/**
 * The search's `n` combinations, config path -> value. Draw i of a path depends only on (seed, i, path): the same
 * file draws the same trials, raising n keeps the first ones, and adding a path leaves the others' values alone.
 */
export function drawCombinations(search: RandomSearch): Record<string, unknown>[] {
  return Array.from({ length: search.n }, (_, i) =>
    Object.fromEntries(
      Object.entries(search.params).map(([path, d]) => [path, draw(d, rngFor(search.seed, i, pathKey(path)))]),
    ),
  );
}
