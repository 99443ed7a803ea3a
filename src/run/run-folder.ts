import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { ExperimentConfig } from '../registry/experiment.js';
import { runId } from './run-id.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { projectRoot } from '../util/paths.js';
import { UsageError } from '../util/errors.js';

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

export function readResult(runDir: string): RunResult | null {
  const file = join(runDir, 'result.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RunResult) : null;
}

export function writeResult(runDir: string, result: RunResult): void {
  writeJsonAtomic(join(runDir, 'result.json'), result);
}

/** The resolved config (with provenance comments) and its JSON twin, which later commands read instead of YAML. */
export function writeConfig(runDir: string, config: ExperimentConfig, text: string): void {
  writeFileAtomic(join(runDir, 'config.yaml'), text);
  writeJsonAtomic(join(runDir, 'config.json'), config);
}

export function readRunConfig(runDir: string): ExperimentConfig {
  const file = join(runDir, 'config.json');
  if (!existsSync(file)) throw new UsageError(`${runDir} is not a run folder (no config.json)`);
  return JSON.parse(readFileSync(file, 'utf8')) as ExperimentConfig;
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: projectRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function packageVersion(name: string): string | null {
  try {
    const require = createRequire(join(projectRoot(), 'package.json'));
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

/** Everything needed to reproduce the run: code version, packages, machine, command line, seed and backend. */
export function writeEnv(runDir: string, config: ExperimentConfig, backend: { name: string; attempts: unknown[] }, configDir: string): void {
  const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
  const commit = git(['rev-parse', 'HEAD']);
  const dirty = commit === null ? null : (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '';
  const cpu = cpus();
  writeJsonAtomic(join(runDir, 'env.json'), {
    epsilab: pkg.version,
    git: { commit, dirty },
    packages: Object.fromEntries(Object.keys(pkg.dependencies).map((n) => [n, packageVersion(n)])),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: { model: cpu[0]?.model ?? 'unknown', cores: cpu.length },
    host: hostname(),
    command: process.argv.slice(1),
    cwd: process.cwd(),
    config_dir: configDir,
    seed: config.seed,
    backend,
    started: new Date().toISOString(),
  });
}

/** The folder the run's config file was in, which relative paths inside it (dataset folders) are resolved against. */
export function readConfigDir(runDir: string): string {
  const file = join(runDir, 'env.json');
  return existsSync(file) ? ((JSON.parse(readFileSync(file, 'utf8')) as { config_dir?: string }).config_dir ?? runDir) : runDir;
}
