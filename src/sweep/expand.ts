import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { toDocument, type PositionedDocument } from '../config/document.js';
import { displayFile, error, type Diagnostic, type Position } from '../util/diagnostics.js';
import { ConfigError } from '../util/errors.js';
import { parsePath, toPointer, type Segment } from '../config/paths.js';
import { validateDocument } from '../config/validate.js';
import { parseYaml } from '../config/yaml-source.js';
import { boundsProblem, drawCombinations } from './random-search.js';
import { sweepJsonSchema, type SweepFile } from './sweep-file.js';

/** One config path set to one value; `pos` is where the sweep file wrote the value. */
export interface Override {
  path: string;
  value: unknown;
  pos?: Position;
}

/** One point of the search space (grid x zip x trials x random draws), repeated per seed. */
export interface Combination {
  overrides: Override[];
  seed?: { value: number; pos?: Position };
}

export interface SweepSource {
  file: string;
  spec: SweepFile;
  doc: PositionedDocument;
  /** Absolute path of the base config. */
  baseFile: string;
}

/** Reads and validates a sweep file (defaults filled in); throws ConfigError with every problem at its line. */
export async function readSweep(file: string): Promise<SweepSource> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    throw new ConfigError([
      error(
        `cannot read ${displayFile(abs)}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      ),
    ]);
  }
  const parsed = parseYaml({ file: abs, text });
  if (parsed.diagnostics.length) throw new ConfigError(parsed.diagnostics);
  const doc = toDocument(abs, parsed.root);
  const problems = validateDocument(doc, sweepJsonSchema());
  if (problems.length) throw new ConfigError(problems);
  const spec = doc.value as SweepFile;
  const baseFile = path.resolve(path.dirname(abs), spec.base);
  if (!existsSync(baseFile))
    throw new ConfigError([error(`base config ${displayFile(baseFile)} does not exist`, doc.places.get('/base')?.pos)]);
  return { file: abs, spec, doc, baseFile };
}

/** Trials one sweep may declare, checked before they are expanded (a grid of 10^8 would fill the memory first). */
const MAX_TRIALS = 100_000;

type Section = 'grid' | 'zip' | 'trials' | 'search';

interface Axis {
  section: Section;
  path: string;
  segments: Segment[];
  keyPos?: Position;
  /** For explicit trials: which entry (different entries may set the same path). */
  entry?: number;
}

/** Two overrides touch the same value when one path is the other or lies inside it. */
function overlaps(a: Segment[], b: Segment[]): boolean {
  const n = Math.min(a.length, b.length);
  return a.slice(0, n).every((s, i) => String(s) === String(b[i]));
}

function product<T>(lists: T[][]): T[][] {
  return lists.reduce<T[][]>((acc, list) => acc.flatMap((prefix) => list.map((item) => [...prefix, item])), [[]]);
}

/**
 * Every trial the sweep declares: the cartesian grid, times the zipped lists, times the explicit trials, times the
 * random search's draws, times the seeds (an absent part counts once). Throws ConfigError when zipped lists differ
 * in length, a path is not a path, two parts set the same config path, or a distribution's bounds are empty.
 */
export function combinations(src: SweepSource): Combination[] {
  const { spec, doc } = src;
  const diags: Diagnostic[] = [];
  const place = (segments: Segment[]) => doc.places.get(toPointer(segments));
  const axes: Axis[] = [];
  const claim = (section: Section, p: string, at: Segment[], entry?: number): void => {
    const keyPos = place(at)?.keyPos;
    let segments: Segment[];
    try {
      segments = parsePath(p);
    } catch {
      diags.push(
        error(
          `'${p}' is not a config path (use dots and [index], e.g. model.epsilon or transforms.train[0].pad)`,
          keyPos,
        ),
      );
      return;
    }
    const clash = axes.find((a) => overlaps(a.segments, segments) && (a.section !== 'trials' || a.entry === entry));
    if (clash)
      diags.push(
        error(
          `${section}: '${p}' overlaps '${clash.path}', already varied by ${clash.section}; vary each config path in one place`,
          keyPos,
        ),
      );
    else if (spec.seeds && overlaps(segments, ['seed']))
      diags.push(error(`${section}: '${p}' sets the seed; list seeds under seeds: instead`, keyPos));
    else axes.push({ section, path: p, segments, keyPos, entry });
  };
  const valuesOf = (section: 'grid' | 'zip', p: string, values: unknown[]): Override[] =>
    values.map((value, i) => ({ path: p, value, pos: place([section, p, i])?.pos }));

  const gridLists = Object.entries(spec.grid ?? {}).map(
    ([p, values]) => (claim('grid', p, ['grid', p]), valuesOf('grid', p, values)),
  );
  const zipEntries = Object.entries(spec.zip ?? {});
  zipEntries.forEach(([p]) => claim('zip', p, ['zip', p]));
  const zipLength = zipEntries[0]?.[1].length ?? 1;
  for (const [p, values] of zipEntries.slice(1)) {
    if (values.length !== zipLength) {
      diags.push(
        error(
          `zip: '${p}' has ${values.length} values but '${zipEntries[0][0]}' has ${zipLength}; zipped lists must be equally long`,
          place(['zip', p])?.pos,
        ),
      );
    }
  }
  const zipRows: Override[][] = zipEntries.length
    ? Array.from({ length: zipLength }, (_, i) =>
        zipEntries.map(([p, values]) => ({ path: p, value: values[i], pos: place(['zip', p, i])?.pos })),
      )
    : [[]];
  const trialRows: Override[][] = (spec.trials ?? [{}]).map((t, i) =>
    Object.entries(t).map(([p, value]) => {
      claim('trials', p, ['trials', i, p], i);
      return { path: p, value, pos: place(['trials', i, p])?.pos };
    }),
  );
  const searchParams = Object.entries(spec.search?.params ?? {});
  for (const [p, d] of searchParams) {
    claim('search', p, ['search', 'params', p]);
    const problem = boundsProblem(d);
    if (problem) diags.push(error(`search: '${p}': ${problem}`, place(['search', 'params', p])?.pos));
  }
  if (diags.length) throw new ConfigError(diags);
  // A drawn value has no line of its own: errors about it point at its distribution
  const drawnRows: Override[][] = spec.search
    ? drawCombinations(spec.search).map((drawn) =>
        Object.entries(drawn).map(([p, value]) => ({ path: p, value, pos: place(['search', 'params', p])?.pos })),
      )
    : [[]];

  const seeds = spec.seeds ? spec.seeds.map((value, i) => ({ value, pos: place(['seeds', i])?.pos })) : [undefined];
  const count = gridLists.reduce(
    (n, l) => n * l.length,
    zipRows.length * trialRows.length * drawnRows.length * seeds.length,
  );
  if (count > MAX_TRIALS)
    throw new ConfigError([
      error(
        `grid: ${count.toLocaleString('en')} trials, more than the ${MAX_TRIALS.toLocaleString('en')} a sweep may hold: split it into several sweep files`,
        place(['grid'])?.keyPos ?? doc.places.get('')?.pos,
      ),
    ]);
  const out: Combination[] = [];
  for (const grid of product(gridLists)) {
    for (const zip of zipRows)
      for (const trial of trialRows)
        for (const drawn of drawnRows)
          for (const seed of seeds)
            out.push({ overrides: [...grid, ...zip, ...trial, ...drawn], ...(seed ? { seed } : {}) });
  }
  return out;
}
