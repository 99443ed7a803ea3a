import { readRegularFile } from '../util/regular-file.js';
import path from 'node:path';
import { MAX_YAML_BYTES, parseYaml } from '../config/yaml-source.js';
import { UserError } from '../util/errors.js';

/** The YAML files epsilab reads, told apart by their top-level keys, and the command each is for. */
export type FileKind = 'experiment config' | 'partial experiment config' | 'sweep file' | 'table spec';

/** What to do with a file of each kind instead. */
const USE: Record<FileKind, (file: string) => string> = {
  'experiment config': (f) => `train it with \`epsilab run ${f}\``,
  'partial experiment config': (f) => `extend it from a config (\`extends: ${path.basename(f)}\`) and run that`,
  'sweep file': (f) => `run its trials with \`epsilab sweep ${f}\` (\`epsilab plan ${f}\` lists them)`,
  'table spec': (f) => `make its table with \`epsilab table ${f}\``,
};

/** A file under a folder whose name starts with `_` (configs/_base/) or named `_*.yaml` is a fragment meant to be extended. */
export function isPartialConfig(file: string): boolean {
  return (
    path
      .resolve(file)
      .split(path.sep)
      .slice(0, -1)
      .some((d) => d.startsWith('_')) || path.basename(file).startsWith('_')
  );
}

/** The file's top-level keys; none when it cannot be read or parsed (the command's own loader then reports why). */
export async function topKeys(file: string): Promise<string[]> {
  try {
    const { root } = parseYaml({ file, text: readRegularFile(file, MAX_YAML_BYTES, 'split it').toString('utf8') });
    return root?.kind === 'map' ? [...root.entries.keys()] : [];
  } catch {
    return [];
  }
}

/** A sweep file has `sweep:`, a table spec `runs:` and `cells:`; anything else is read as an experiment config. */
export function kindOf(file: string, keys: string[]): FileKind {
  if (keys.includes('sweep')) return 'sweep file';
  if (keys.includes('cells') && keys.includes('runs')) return 'table spec';
  return isPartialConfig(file) ? 'partial experiment config' : 'experiment config';
}

/** The kind of a file on disk. */
export async function fileKind(file: string): Promise<FileKind> {
  return kindOf(file, await topKeys(file));
}

/**
 * The kind of `file`, one of those a command accepts; a file meant for another command is a user error that names
 * that command (`epsilab run` given a sweep file says to use `epsilab sweep`), not a list of keys an experiment lacks.
 */
export async function expectFileKind(file: string, accepted: FileKind[]): Promise<FileKind> {
  const kind = await fileKind(file);
  if (accepted.includes(kind) || (kind === 'partial experiment config' && accepted.includes('experiment config')))
    return kind;
  const article = (k: string) => (/^[aeiou]/.test(k) ? 'an' : 'a');
  const wanted = accepted[0];
  throw new UserError(`${file} is ${article(kind)} ${kind}, not ${article(wanted)} ${wanted}: ${USE[kind](file)}`);
}
