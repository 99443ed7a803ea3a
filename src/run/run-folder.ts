import { existsSync, readFileSync, readdirSync, rmSync, statSync, statfsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ExperimentConfig } from '../registry/experiment.js';
import type { Registry } from '../registry/registry.js';
import { canonicalJson, runId } from './run-id.js';
import { exportModel, readExportedModel, type ExportedModel } from './model-files.js';
import type { NamedVariable } from '../models/types.js';
import { appendLineDurable, writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { InputError, UsageError } from '../util/errors.js';

/** results/<experiment>/<run-id>/: the run id derives from the resolved config (seed included). */
export function defaultRunDir(config: ExperimentConfig, cwd = process.cwd()): string {
  return resolve(cwd, config.output.root, config.experiment, runId(config));
}

export type ResultStatus = 'running' | 'done' | 'interrupted' | 'diverged' | 'failed';

export interface RunResult {
  status: ResultStatus;
  experiment: string;
  run_id: string;
  epochs_done: number;
  metrics: Record<string, number>;
  [key: string]: unknown;
}

/** A JSON file of the run folder, or null when absent; unreadable JSON is an InputError naming the file. */
function readJsonFile<T>(file: string, what: string): T | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new InputError(`${file} (${what}) is damaged: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Whether `dir` holds a run (its config.json). */
export function isRunFolder(dir: string): boolean {
  return existsSync(join(dir, 'config.json'));
}

/** result.json, or null when the run never wrote one; a damaged one is an InputError naming it. */
export function readResult(runDir: string): RunResult | null {
  return readJsonFile<RunResult>(join(runDir, 'result.json'), "the run's result record");
}

export function writeResult(runDir: string, result: RunResult): void {
  writeJsonAtomic(join(runDir, 'result.json'), result);
}

/** The resolved config (with provenance comments) and its JSON twin, which later commands read instead of YAML. */
export function writeConfig(runDir: string, config: ExperimentConfig, text: string): void {
  writeFileAtomic(join(runDir, 'config.yaml'), text);
  writeJsonAtomic(join(runDir, 'config.json'), config);
}

/**
 * The resolved config a run recorded (config.json); a folder without one is not a run folder (UsageError). Given the
 * run's registry, the schema fills in what it gained since (a run recorded before `evaluations` gets their default).
 */
export function readRunConfig(runDir: string, registry?: Registry): ExperimentConfig {
  const config = readJsonFile<ExperimentConfig>(join(runDir, 'config.json'), 'the resolved config');
  if (config === null) throw new UsageError(`${runDir} is not a run folder (no config.json)`);
  // Validated when it was recorded: only the defaults the validator writes in matter here.
  registry?.validator()(config);
  return config;
}

/** The resolved config as YAML with provenance comments (config.yaml). */
export function readRunConfigText(runDir: string): string {
  const file = join(runDir, 'config.yaml');
  if (!existsSync(file)) throw new InputError(`${file} is missing: the run folder is incomplete`);
  return readFileSync(file, 'utf8');
}

export type MetricsLine = Record<string, number | string>;

const METRICS = 'metrics.jsonl';

/**
 * metrics.jsonl, one object per finished epoch (distillation stages carry a `stage` field). A last line without its
 * newline was torn by a crash or a full disk mid-append and never counted: it is left out. Any other line that is not
 * JSON is damage, an InputError naming the file and line.
 */
export function readMetrics(runDir: string): MetricsLine[] {
  const file = join(runDir, METRICS);
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  // The last piece is '' after a final newline, or the torn line.
  const complete = text.split('\n').slice(0, -1);
  return complete.flatMap((line, i) => {
    if (!line.trim()) return [];
    try {
      return [JSON.parse(line) as MetricsLine];
    } catch {
      throw new InputError(
        `${file} is damaged: line ${i + 1} is not JSON (${JSON.stringify(line.slice(0, 60))}). Remove that line to keep the other epochs, or start the run over with --force`,
      );
    }
  });
}

/** One finished epoch's metrics, appended and flushed. */
export function appendMetrics(runDir: string, line: MetricsLine): void {
  appendLineDurable(join(runDir, METRICS), JSON.stringify(line));
}

/**
 * Keep only the metrics lines `keep` accepts (a resumed run drops the epochs its checkpoint does not cover), and no
 * torn last line; returns the kept lines. A folder without metrics.jsonl is left without one.
 */
export function trimMetrics(runDir: string, keep: (line: MetricsLine) => boolean): MetricsLine[] {
  if (!existsSync(join(runDir, METRICS))) return [];
  const lines = readMetrics(runDir).filter(keep);
  writeFileAtomic(join(runDir, METRICS), lines.map((l) => JSON.stringify(l) + '\n').join(''));
  return lines;
}

/** One line of history.jsonl: what happened to the run folder beyond training (a start over, an extended schedule). */
export interface HistoryEvent {
  event: 'force' | 'extend';
  [key: string]: unknown;
}

export function appendHistory(runDir: string, event: HistoryEvent): void {
  appendLineDurable(
    join(runDir, 'history.jsonl'),
    JSON.stringify({ time: new Date().toISOString(), ...event, command: process.argv.slice(1) }),
  );
}

/** What a run writes; `--force` removes these (the lock, the history and a sweep's trial files stay). */
const PRODUCTS = [
  'config.yaml',
  'config.json',
  'env.json',
  METRICS,
  'checkpoints',
  'teacher',
  'stages',
  'model',
  'compressed',
  'result.json',
];

export function clearRunProducts(runDir: string): void {
  if (!existsSync(runDir)) return;
  for (const name of readdirSync(runDir)) {
    if (PRODUCTS.includes(name) || name.startsWith('events.out.tfevents.'))
      rmSync(join(runDir, name), { recursive: true, force: true });
  }
}

/** Kernel file systems (statfs magic numbers) that look like folders but hold no files of ours: proc, sysfs. */
const KERNEL_FILE_SYSTEMS: Record<number, string> = { 0x9fa0: 'proc', 0x62656572: 'sysfs' };

/**
 * Refuses a run folder epsilab must not write: a path that is not a folder, one on /proc or /sys, or a folder of
 * someone's own files (epsilab's file names but no config.json), whose metrics.jsonl and model/ a run would overwrite.
 */
export function assertUsableRunDir(runDir: string): void {
  let existing = runDir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const fs = KERNEL_FILE_SYSTEMS[statfsSync(existing).type];
  if (fs)
    throw new InputError(
      `${runDir} is on ${fs}, a kernel file system, which is not a folder epsilab can write run folders in: set output.root or --run-dir to a folder on a disk`,
    );
  if (existing !== runDir) return;
  if (!statSync(runDir).isDirectory())
    throw new InputError(`${runDir}: not a folder: choose another --run-dir (a new or empty folder)`);
  const clobbered = readdirSync(runDir).filter((n) => PRODUCTS.includes(n));
  if (clobbered.length && !isRunFolder(runDir))
    throw new InputError(
      `${runDir} is not an epsilab run folder (it holds other files and no config.json): a run would overwrite its ${clobbered.join(', ')}. Choose another --run-dir (a new or empty folder), or leave --run-dir out for results/<experiment>/<run-id>`,
    );
}

/** Whether the folder holds training progress (a checkpoint, a metrics line or a finished model) that a different config would mix with. */
export function hasProgress(runDir: string): boolean {
  return ['checkpoints', 'teacher', 'stages', 'model', METRICS].some((name) => existsSync(join(runDir, name)));
}

export interface ConfigDifference {
  path: string;
  before: unknown;
  after: unknown;
}

/** Values that differ between two configs, as dotted paths with both values. */
export function configDifferences(before: unknown, after: unknown, path = ''): ConfigDifference[] {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => configDifferences(before[k], after[k], path ? `${path}.${k}` : k));
  }
  return canonicalJson(before) === canonicalJson(after) ? [] : [{ path, before, after }];
}

/** The folder the run's config file was in, which relative paths inside it (dataset folders) are resolved against. */
export function readConfigDir(runDir: string): string {
  return (
    readJsonFile<{ config_dir?: string }>(join(runDir, 'env.json'), "the run's environment record")?.config_dir ??
    runDir
  );
}

/** A run's saved model, with the config and config folder to rebuild it: `target` is a run folder (its model/) or a model folder inside one (compressed/). */
export interface RunModel {
  runDir: string;
  config: ExperimentConfig;
  configDir: string;
  model: ExportedModel;
}

/** The trained network in model/ (a finished run). */
export async function writeFinalModel(
  runDir: string,
  vars: NamedVariable[],
  topology: Record<string, unknown>,
): Promise<void> {
  await exportModel(join(runDir, 'model'), vars, topology);
}

/** `epsilab compress`'s network and its measurements in compressed/; returns the folder. */
export async function writeCompressedModel(
  runDir: string,
  vars: NamedVariable[],
  topology: Record<string, unknown>,
  record: Record<string, unknown>,
): Promise<string> {
  const dir = join(runDir, 'compressed');
  await exportModel(dir, vars, topology);
  writeJsonAtomic(join(dir, 'compression.json'), record);
  return dir;
}

/** The run folder and model folder `target` names: a run folder (its model/) or a model folder inside one (compressed/). */
export function locateRunModel(target: string): { runDir: string; modelDir: string } {
  const runDir = isRunFolder(target) ? target : dirname(target);
  if (!isRunFolder(runDir)) throw new UsageError(`${target} is neither a run folder nor a model folder inside one`);
  return { runDir, modelDir: runDir === target ? join(target, 'model') : target };
}

/** Read a run's saved model (eval, compress, a distillation teacher), verified, with what rebuilding it needs. */
export function readRunModel(target: string): RunModel {
  const { runDir, modelDir } = locateRunModel(target);
  return {
    runDir,
    config: readRunConfig(runDir),
    configDir: readConfigDir(runDir),
    model: readExportedModel(modelDir),
  };
}

/** The parts of env.json that decide whether a run can be reproduced bit for bit. */
export interface RunEnv {
  epsilab: string;
  git: { commit: string | null; dirty: boolean | null };
  packages: Record<string, string | null>;
  node: string;
  cpu: { model: string; flags?: string[] | null };
  threads?: { backend: number | null };
  config_dir: string;
  /** Plugin module URLs (runs from before they were recorded have none). */
  plugins?: string[];
  seed: number;
  backend: { name: string };
}

/** env.json, or null when the run has none. */
export function readEnv(runDir: string): RunEnv | null {
  return readJsonFile<RunEnv>(join(runDir, 'env.json'), "the run's environment record");
}
