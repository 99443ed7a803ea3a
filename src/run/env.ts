import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { ExperimentConfig } from '../registry/experiment.js';
import { backendThreads, libtorchThreading } from '../backends/info.js';
import { CORES_SHARED_BY } from '../backends/threads.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { projectRoot } from '../util/paths.js';

// env.json's writer lives apart from run-folder.ts so that the readers of run folders (tables, sweeps) load no backend.

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, {
      cwd: projectRoot(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
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

/** The CPU's feature flags (/proc/cpuinfo on Linux; null elsewhere): they pick the vector kernels, and so the float rounding, a backend runs. */
function cpuFlags(): string[] | null {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => /^(flags|Features)\s*:/.test(l));
    return line
      ? line
          .slice(line.indexOf(':') + 1)
          .trim()
          .split(/\s+/)
      : null;
  } catch {
    return null;
  }
}

/** The environment variables that set thread counts, where set. */
function threadSettings(): Record<string, string> {
  return Object.fromEntries(
    ['EPSILAB_TORCH_THREADS', CORES_SHARED_BY, 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OMP_WAIT_POLICY']
      .filter((k) => process.env[k] !== undefined)
      .map((k) => [k, process.env[k]!]),
  );
}

/**
 * Everything needed to reproduce the run: code version, packages, machine (CPU flags, thread counts), command line,
 * seed and backend; for a data-parallel run, `distributed` (world_size, process group backend, devices and hosts).
 */
export function writeEnv(
  runDir: string,
  config: ExperimentConfig,
  o: {
    backend: { name: string; attempts: unknown[] };
    /** The folder of the config file, which relative paths in it are resolved against. */
    configDir: string;
    /** URLs of the plugin modules the run's components came from, so the run can be rebuilt with them. */
    plugins: readonly string[];
    /** A data-parallel run's ranks: world size, process group, each rank's device and host. */
    distributed?: Record<string, unknown>;
  },
): void {
  const { backend, configDir } = o;
  const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
  };
  const commit = git(['rev-parse', 'HEAD']);
  const dirty = commit === null ? null : (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '';
  const cpu = cpus();
  writeJsonAtomic(join(runDir, 'env.json'), {
    epsilab: pkg.version,
    git: { commit, dirty },
    packages: Object.fromEntries(Object.keys(pkg.dependencies).map((n) => [n, packageVersion(n)])),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: {
      model: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      available_parallelism: availableParallelism(),
      flags: cpuFlags(),
    },
    threads: {
      backend: backendThreads(backend.name),
      ...(backend.name === 'libtorch' ? { libtorch: libtorchThreading() } : {}),
      settings: threadSettings(),
    },
    host: hostname(),
    command: process.argv.slice(1),
    cwd: process.cwd(),
    config_dir: configDir,
    plugins: o.plugins,
    seed: config.seed,
    backend,
    ...(o.distributed ? { distributed: o.distributed } : {}),
    started: new Date().toISOString(),
  });
}

/** Adds which training step ran (compiled or eager, and why) to env.json, per training stage, where the run has one. */
export function recordTrainStep(runDir: string, stage: string, description: string): void {
  const file = join(runDir, 'env.json');
  if (!existsSync(file)) return;
  const env = JSON.parse(readFileSync(file, 'utf8')) as { train_step?: Record<string, string> };
  writeJsonAtomic(file, { ...env, train_step: { ...env.train_step, [stage]: description } });
}
