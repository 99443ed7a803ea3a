import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  isRunFolder,
  readMetrics as readRunMetrics,
  readResult,
  readRunConfig,
  type MetricsLine,
  type RunResult,
} from '../run/run-folder.js';
import { UserError } from '../util/errors.js';
import type { LedgerData, LedgerEntry } from '../sweep/ledger.js';
import { globFolders } from './glob.js';
import type { RunSelection } from './spec.js';

/** One run folder as the table and plot commands see it: what the run recorded, never re-derived. */
export interface RunRecord {
  /** Folder, relative to the results root (`<experiment>/<run-id>` or `<sweep>/<trial>`). */
  id: string;
  dir: string;
  config: Record<string, unknown>;
  /** result.json, or null when the run never wrote one (or it is damaged: see `damage`). */
  result: RunResult | null;
  /** What is wrong with the run's recorded files (a damaged result.json), for a table footnote. */
  damage?: string;
  /** The sweep ledger's entry, for trials of a sweep. */
  ledger?: LedgerEntry;
}

export type { MetricsLine };

/** The value at a dotted path (`model.depth`), or undefined. */
export function valueAt(data: unknown, path: string): unknown {
  let at = data;
  for (const key of path.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** Whether a run's config has the required values (a list accepts any of its values; null accepts absent). */
export function matches(config: unknown, where: Record<string, unknown>): boolean {
  return Object.entries(where).every(([path, want]) => {
    const have = valueAt(config, path) ?? null;
    return (Array.isArray(want) ? want : [want]).some((w) => JSON.stringify(w) === JSON.stringify(have));
  });
}

/** The run folder at `root`/`id`, or undefined when it holds no config.json (not a run folder). */
export function readRun(root: string, id: string, ledger?: LedgerEntry): RunRecord | undefined {
  const dir = join(root, id);
  if (!isRunFolder(dir)) return undefined;
  const config = readRunConfig(dir) as unknown as Record<string, unknown>;
  const found = { id, dir, config, ...(ledger ? { ledger } : {}) };
  try {
    return { ...found, result: readResult(dir) };
  } catch (err) {
    return { ...found, result: null, damage: (err as Error).message };
  }
}

/** Sweep trials that have no run folder yet, by state, so an empty cell can say a trial is still pending. */
export interface Selection {
  runs: RunRecord[];
  trialsWithoutFolder: { sweep: string; entry: LedgerEntry }[];
}

/** The run folders a selection names: glob matches and sweep trials, filtered by `where`. */
export function selectRuns(selection: RunSelection, cwd = process.cwd()): Selection {
  const root = resolve(cwd, selection.results);
  const byId = new Map<string, RunRecord>();
  const trialsWithoutFolder: Selection['trialsWithoutFolder'] = [];
  for (const pattern of selection.glob) {
    for (const id of globFolders(root, pattern)) {
      const run = byId.has(id) ? undefined : readRun(root, id);
      if (run) byId.set(id, run);
    }
  }
  for (const sweep of selection.sweeps) {
    const ledgerFile = join(root, sweep, 'ledger.json');
    if (!existsSync(ledgerFile))
      throw new UserError(
        `sweep ${sweep} has not run: ${ledgerFile} does not exist (run its sweep file with \`epsilab sweep\` first)`,
      );
    const ledger = JSON.parse(readFileSync(ledgerFile, 'utf8')) as LedgerData;
    for (const entry of Object.values(ledger.trials)) {
      const id = `${sweep}/${entry.dir}`;
      const run = readRun(root, id, entry);
      if (run) byId.set(id, run);
      else trialsWithoutFolder.push({ sweep, entry });
    }
  }
  const runs = [...byId.values()]
    .filter((r) => matches(r.config, selection.where))
    .sort((a, b) => a.id.localeCompare(b.id));
  return { runs, trialsWithoutFolder };
}

/** The run's metrics.jsonl, one object per epoch (distillation stages carry a `stage` field); a damaged line is an error naming it. */
export function readMetrics(run: RunRecord): MetricsLine[] {
  return readRunMetrics(run.dir);
}
