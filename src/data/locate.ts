import { existsSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { projectRoot } from '../util/paths.js';
import { downloadFile, extractTarGz } from './download.js';
import { UserError } from '../util/errors.js';

/** Where a dataset's files may be found and how to fetch them. */
export interface DatasetSource {
  /** Folder name under the cache (`fashion-mnist`). */
  name: string;
  title: string;
  /** Files that must all be present; each lists the names it may have, the first being the one downloads write. */
  files: string[][];
  /** Sub-folders of a candidate folder where the files may sit instead (as the official archive extracts). */
  subdirs?: string[];
  /** System-wide folders (a distribution package's install location). */
  system?: string[];
  download?:
    | { kind: 'files'; bases: string[]; md5: Record<string, string> }
    | { kind: 'tar.gz'; url: string; md5: string };
  /** How a user gets the data by hand, one sentence. */
  howTo: string;
}

export interface LocateOptions {
  /** The component's `path` parameter: when set, only this folder is used. */
  path?: string;
  configDir: string;
  download: boolean;
  log: (line: string) => void;
}

/** The folder that holds the dataset and the full path of each required file, in `files` order. */
export interface Located {
  dir: string;
  files: string[];
}

/** A dataset that is nowhere epsilab looked; the message lists each place and how to get the data. */
export class DatasetNotFoundError extends UserError {
  override name = 'DatasetNotFoundError';
}

/** The download cache for a dataset: `$EPSILAB_DATA/<name>`, else `~/.cache/epsilab/<name>`. */
export function cacheDir(name: string): string {
  const root = process.env.EPSILAB_DATA || join(homedir(), '.cache', 'epsilab');
  return join(root, name);
}

/** Folders a user-given path may mean: absolute as is; relative to the config's folder, then to the project. */
export function userPathCandidates(path: string, configDir: string): string[] {
  if (isAbsolute(path)) return [path];
  return [...new Set([resolve(configDir, path), resolve(projectRoot(), path)])];
}

/** Resolves the required files inside `dir` (or its known sub-folders), or says what is missing. */
function filesIn(dir: string, src: DatasetSource): Located | string {
  if (!existsSync(dir)) return 'does not exist';
  for (const sub of ['', ...(src.subdirs ?? [])]) {
    const base = join(dir, sub);
    const found = src.files.map((names) => names.map((n) => join(base, n)).find((p) => existsSync(p)));
    if (found.every((p) => p !== undefined)) return { dir: base, files: found as string[] };
  }
  const missing = src.files.filter((names) => !names.some((n) => existsSync(join(dir, n)))).map((names) => names[0]);
  return `missing ${missing.join(', ')}`;
}

/**
 * Finds a dataset: the configured path only, when given; otherwise the cache folder, then system folders, then
 * (when allowed and online) a download into the cache, checked against the published MD5.
 */
export async function locateDataset(src: DatasetSource, opts: LocateOptions): Promise<Located> {
  const looked: string[] = [];
  const places = opts.path
    ? userPathCandidates(opts.path, opts.configDir).map((dir) => ({ dir, why: 'configured path' }))
    : [{ dir: cacheDir(src.name), why: 'cache' }, ...(src.system ?? []).map((dir) => ({ dir, why: 'system' }))];
  for (const { dir, why } of places) {
    const found = filesIn(dir, src);
    if (typeof found !== 'string') return found;
    looked.push(`  ${dir} (${why}): ${found}`);
  }
  let downloadNote = '';
  if (!opts.path && src.download) {
    if (!opts.download) downloadNote = 'Downloading is off (download: false).';
    else {
      try {
        await fetchInto(src, cacheDir(src.name), opts.log);
        const found = filesIn(cacheDir(src.name), src);
        if (typeof found !== 'string') return found;
        downloadNote = `The download finished but ${found}.`;
      } catch (err) {
        downloadNote = `Downloading failed: ${(err as Error).message}`;
      }
    }
  }
  throw new DatasetNotFoundError(
    [`${src.title} not found. epsilab looked in:`, ...looked, downloadNote, `To get it: ${src.howTo}`]
      .filter(Boolean)
      .join('\n'),
  );
}

async function fetchInto(src: DatasetSource, dir: string, log: (line: string) => void): Promise<void> {
  const dl = src.download!;
  if (dl.kind === 'files') {
    for (const names of src.files) {
      const name = names[0];
      const errors: string[] = [];
      for (const base of dl.bases) {
        try {
          await downloadFile(base + name, join(dir, name), dl.md5[name], log);
          errors.length = 0;
          break;
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      if (errors.length) throw new Error(errors.join('; '));
    }
    return;
  }
  const archive = join(dir, dl.url.split('/').pop()!);
  await downloadFile(dl.url, archive, dl.md5, log);
  extractTarGz(
    readFileSync(archive),
    dir,
    src.files.map((names) => names[0]),
    archive,
  );
  rmSync(archive);
}
