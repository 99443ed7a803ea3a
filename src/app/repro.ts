import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend } from '../backends/select.js';
import type { ExperimentConfig } from '../registry/experiment.js';
import {
  isRunFolder,
  readConfigDir,
  readEnv,
  readResult,
  readRunConfig,
  readRunConfigText,
  type RunEnv,
} from '../run/run-folder.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { EpsilabError, UsageError } from '../util/errors.js';
import { runRegistry } from './run-registry.js';
import { executeRun } from './execute.js';

/** Metrics that measure the machine (speed, memory), not the result: reported, never compared. */
const MEASUREMENTS = /(_per_sec|_seconds|^live_tensors)$/;

export interface ReproOptions {
  /** Folder of the new run; default `<run-dir>/repro-<n>`, the first free n. */
  runDir?: string;
  /** On another backend (or thread count) a metric matches when |Δ| ≤ tolerance · max(1, |recorded|). */
  tolerance: number;
  log: (line: string) => void;
}

export interface MetricCheck {
  metric: string;
  recorded: number | null;
  reproduced: number | null;
  difference: number | null;
  match: boolean;
}

export interface ReproRecord {
  source: string;
  run_dir: string;
  /** exact: same backend and thread count, every metric must be equal; tolerance otherwise. */
  comparison: 'exact' | 'tolerance';
  tolerance: number | null;
  backend: { recorded: string; reproduced: string };
  warnings: string[];
  metrics: MetricCheck[];
  not_compared: string[];
  matched: boolean;
}

function freeReproDir(source: string): string {
  for (let n = 1; ; n++) {
    const dir = join(source, `repro-${n}`);
    if (!existsSync(dir)) return dir;
  }
}

/** What differs between the recorded environment and the reproduction's: package versions, commit, backend, threads, machine. */
export function environmentDifferences(before: RunEnv, after: RunEnv): string[] {
  const out: string[] = [];
  const differ = (what: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b))
      out.push(`${what}: recorded ${JSON.stringify(a)}, now ${JSON.stringify(b)}`);
  };
  differ('epsilab version', before.epsilab, after.epsilab);
  differ('git commit', before.git.commit, after.git.commit);
  if (before.git.dirty) out.push('the recorded run was made from a working tree with uncommitted changes');
  for (const name of new Set([...Object.keys(before.packages), ...Object.keys(after.packages)]))
    differ(`package ${name}`, before.packages[name] ?? null, after.packages[name] ?? null);
  differ('Node', before.node, after.node);
  differ('backend', before.backend.name, after.backend.name);
  differ('backend threads', before.threads?.backend ?? null, after.threads?.backend ?? null);
  differ('CPU', before.cpu.model, after.cpu.model);
  if (before.cpu.flags && after.cpu.flags)
    differ('CPU feature flags', before.cpu.flags.join(' '), after.cpu.flags.join(' '));
  return out;
}

/** Final metrics, parameter count and FLOPs of a result.json, by name. */
function resultValues(result: Record<string, unknown>): Record<string, number> {
  const metrics = (result.metrics ?? {}) as Record<string, number>;
  const values: Record<string, number> = { ...metrics };
  for (const k of ['epochs_done', 'global_step', 'params', 'flops'])
    if (typeof result[k] === 'number') values[k] = result[k] as number;
  return values;
}

/**
 * `epsilab repro`: runs a recorded run again from its config.json, with the same seed and the backend its env.json
 * names, in a new folder, then compares the two result.json files metric by metric.
 */
export async function reproduceRun(source: string, o: ReproOptions): Promise<ReproRecord> {
  const registry = await runRegistry(source);
  const config = readRunConfig(source, registry);
  const env = readEnv(source);
  if (!env) throw new UsageError(`${source} has no env.json: the run's environment was never recorded`);
  const recorded = readResult(source);
  if (recorded?.status !== 'done')
    throw new UsageError(
      `${source} has not finished (status ${recorded?.status ?? 'none'}): there is no result to reproduce`,
    );
  const warnings: string[] = [];
  let backend = env.backend.name;
  try {
    await selectBackend(backend as ExperimentConfig['backend'], { device: config.device });
  } catch (err) {
    warnings.push(
      `the recorded backend ${backend} does not load here (${(err as Error).message.split('\n')[0]}); using backend ${config.backend}`,
    );
    backend = config.backend;
  }
  const runDir = o.runDir ?? freeReproDir(source);
  if (isRunFolder(runDir)) throw new UsageError(`${runDir} already holds a run; name a new folder with --run-dir`);
  o.log(`reproducing ${source} in ${runDir} (seed ${config.seed}, backend ${backend})`);
  const code = await executeRun({
    config: { ...config, backend: backend as ExperimentConfig['backend'] },
    configText: readRunConfigText(source),
    configDir: readConfigDir(source),
    runDir,
    log: o.log,
    registry,
  });
  const again = readResult(runDir);
  const envAgain = readEnv(runDir);
  if (code !== 0 || again?.status !== 'done' || !envAgain)
    throw new EpsilabError(
      `the reproduction in ${runDir} did not finish (exit ${code}, status ${again?.status ?? 'none'})`,
    );
  warnings.push(...environmentDifferences(env, envAgain));
  for (const w of warnings) o.log(`warning: ${w}`);

  const exact =
    env.backend.name === envAgain.backend.name &&
    (env.threads?.backend ?? null) === (envAgain.threads?.backend ?? null);
  const a = resultValues(recorded);
  const b = resultValues(again);
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const metrics = names
    .filter((m) => !MEASUREMENTS.test(m))
    .map((metric): MetricCheck => {
      const [x, y] = [a[metric] ?? null, b[metric] ?? null];
      const difference = x === null || y === null ? null : Math.abs(x - y);
      const match = difference !== null && (exact ? x === y : difference <= o.tolerance * Math.max(1, Math.abs(x!)));
      return { metric, recorded: x, reproduced: y, difference, match };
    });
  const record: ReproRecord = {
    source,
    run_dir: runDir,
    comparison: exact ? 'exact' : 'tolerance',
    tolerance: exact ? null : o.tolerance,
    backend: { recorded: env.backend.name, reproduced: envAgain.backend.name },
    warnings,
    metrics,
    not_compared: names.filter((m) => MEASUREMENTS.test(m)),
    matched: metrics.every((m) => m.match),
  };
  writeJsonAtomic(join(runDir, 'repro.json'), record);
  const width = Math.max(...metrics.map((m) => m.metric.length));
  o.log(
    `metric by metric (${exact ? `exact: same backend ${envAgain.backend.name}` : `within ${o.tolerance} × max(1, |recorded|): backend ${env.backend.name} → ${envAgain.backend.name}`}):`,
  );
  for (const m of metrics)
    o.log(
      `  ${m.metric.padEnd(width)}  ${String(m.recorded).padEnd(22)} ${String(m.reproduced).padEnd(22)} ${m.match ? (exact ? 'equal' : 'within tolerance') : 'DIFFERS'}`,
    );
  o.log(
    record.matched
      ? `reproduced: every metric ${exact ? 'equal' : 'within tolerance'} (${metrics.length} compared; timings not compared)`
      : `NOT reproduced: ${metrics
          .filter((m) => !m.match)
          .map((m) => m.metric)
          .join(', ')} differ`,
  );
  return record;
}
