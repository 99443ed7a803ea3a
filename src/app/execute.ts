import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ExperimentConfig } from '../config/load.js';
import { runId } from '../run/run-id.js';
import { selectBackend, type SelectedBackend } from '../backends/select.js';
import { rankDevice } from '../backends/process-group.js';
import { buildComponent, buildExperiment, context } from '../train/build.js';
import type { DistillationParams } from '../train/distill-plan.js';
import { distill } from '../train/distill.js';
import { parameterCount } from '../models/nn.js';
import { train, type RunStatus, type StopFlag } from '../train/trainer.js';
import { joinDataParallel, type DataParallel } from '../train/data-parallel.js';
import {
  appendHistory,
  assertUsableRunDir,
  clearRunProducts,
  configDifferences,
  hasProgress,
  isRunFolder,
  readResult,
  readRunConfig,
  writeConfig,
  writeFinalModel,
  writeResult,
  type ConfigDifference,
  type RunResult,
} from '../run/run-folder.js';
import { lockRunFolder } from '../run/lock.js';
import { writeEnv } from '../run/env.js';
import { InputError, UnavailableError, UsageError } from '../util/errors.js';
import { REQUEUE_EXIT_CODE } from '../util/processes.js';
import { libtorchReport } from '../backends/info.js';
import { checkRankable, launchedRank, rankLayout, type RankPlace } from './ranks.js';
import type * as tfc from '@tensorflow/tfjs-core';
import type { Registry } from '../registry/registry.js';
import { builtinRegistry } from '../components/index.js';
import { pluginModules } from '../config/plugins.js';

export interface ExecuteOptions {
  config: ExperimentConfig;
  configText: string;
  /** Folder the config came from, for relative paths inside it. */
  configDir: string;
  runDir: string;
  log: (line: string) => void;
  /** Start over: remove what the folder holds from an earlier run, whatever its config. */
  force?: boolean;
  /** Continue a run to a longer schedule (train.epochs raised); recorded in the folder's history.jsonl. */
  extend?: boolean;
  /** Wait for another process holding the run folder instead of failing. */
  wait?: boolean;
  /** The command, for the run folder's lock: `run` or `resume`. */
  purpose?: string;
  /** Built-in components plus the config's plugins. */
  registry?: Registry;
  /** Raised by SIGINT/SIGTERM, or by an embedding caller, to checkpoint and stop after the current step. */
  stop?: StopFlag;
  /** A scheduler's warning before a time limit: on it the run checkpoints and exits REQUEUE_EXIT_CODE. */
  requeueSignal?: NodeJS.Signals;
  /** This process's rank in a data-parallel run, null in a run of one process; left out: what its environment says. */
  place?: RankPlace | null;
}

/**
 * Exit codes: 0 done (or already done), 1 failed or diverged, 2 busy or mismatched run folder, 130 interrupted,
 * REQUEUE_EXIT_CODE stopped by the requeue signal with a checkpoint written.
 */
export async function executeRun(options: ExecuteOptions): Promise<number> {
  const o = { ...options, place: options.place === undefined ? launchedRank(options.config) : options.place };
  // the ranks but 0 of a data-parallel run train alongside it: rank 0 holds the lock and writes the folder
  if (o.place && o.place.rank > 0) return trainPeer(o, o.place);
  assertUsableRunDir(o.runDir);
  let existing = o.runDir;
  while (!existsSync(existing)) existing = dirname(existing);
  const lock = await lockRunFolder(o.runDir, { purpose: o.purpose ?? 'run', wait: o.wait, log: o.log });
  try {
    return await executeLocked(o);
  } finally {
    lock.release();
    // A run stopped before it wrote anything (a backend this machine lacks) leaves no folder behind, parents included.
    for (let dir = o.runDir; dir !== existing && readdirSync(dir).length === 0; dir = dirname(dir)) rmdirSync(dir);
  }
}

/** Changes `--extend` accepts: a longer schedule of a plain (not distilled) run. */
function extendable(diffs: ConfigDifference[], config: ExperimentConfig): string | null {
  if (config.distillation) return 'a distillation run cannot be extended (its stages have their own schedules)';
  const other = diffs.filter((d) => d.path !== 'train.epochs');
  if (other.length) return `--extend changes only train.epochs, and ${other.map((d) => d.path).join(', ')} differ too`;
  const epochs = diffs.find((d) => d.path === 'train.epochs');
  if (!epochs) return null;
  if ((epochs.after as number) <= (epochs.before as number))
    return `--extend lengthens a schedule; train.epochs goes from ${epochs.before} down to ${epochs.after}`;
  return null;
}

/** What this run does with what its folder holds; `apply` makes the change (run once the backend has loaded). */
interface Reconciled {
  previous: RunResult | null;
  done: boolean;
  apply: () => void;
}

/**
 * What the folder already holds decides what this run does: a folder of the same config resumes (or is done); a
 * folder of another config is refused with the differing values, unless `--force` (start over) or `--extend`.
 */
function reconcile(o: ExecuteOptions): Reconciled {
  const { config, runDir, log } = o;
  let previous: RunResult | null = null;
  try {
    previous = readResult(runDir);
  } catch (err) {
    log(`warning: ${(err as Error).message}; it is rewritten as the run goes on`);
  }
  const was = { previous_run_id: previous?.run_id ?? null, previous_epochs_done: previous?.epochs_done ?? null };
  if (o.force) {
    if (!isRunFolder(runDir) && !hasProgress(runDir)) return { previous: null, done: false, apply: () => {} };
    return {
      previous: null,
      done: false,
      apply: () => {
        appendHistory(runDir, { event: 'force', ...was });
        clearRunProducts(runDir);
        log(`--force: ${runDir} starts over (what it held is gone; history.jsonl records the restart)`);
      },
    };
  }
  const diffs =
    isRunFolder(runDir) && hasProgress(runDir) ? configDifferences(readRunConfig(runDir, o.registry), config) : [];
  if (diffs.length) {
    const listed = diffs
      .map((d) => `  ${d.path}: ${JSON.stringify(d.before)} in the folder, ${JSON.stringify(d.after)} now`)
      .join('\n');
    const refusal = o.extend ? extendable(diffs, config) : 'its config differs';
    if (refusal !== null) {
      throw new InputError(
        `${runDir} holds a run of another config (${refusal}):\n${listed}\n` +
          'Run without --run-dir for a fresh folder of this config, pass --force to start this folder over, ' +
          'or --extend to continue the run to a longer schedule (train.epochs only).',
      );
    }
    return {
      previous,
      done: false,
      apply: () => {
        appendHistory(runDir, { event: 'extend', changed: diffs, ...was });
        log(
          `--extend: ${runDir} continues to ${config.train.epochs} epochs (was ${diffs[0].before}); history.jsonl records it`,
        );
      },
    };
  }
  if (previous?.status === 'done')
    log(
      `${runDir} is already done (test error ${fmt(previous.metrics.test_error)}); nothing to run${o.extend ? ' (to extend it, raise train.epochs)' : ''}`,
    );
  return { previous, done: previous?.status === 'done', apply: () => {} };
}

/** The backend and device of this process: a rank's GPU of its own with device cuda, libtorch for any rank. */
async function selectFor(o: ExecuteOptions): Promise<{ backend: SelectedBackend; device: string }> {
  const { config, place } = o;
  if (place) {
    const configured = config.train.distributed?.ranks;
    if (configured !== undefined && configured !== place.worldSize)
      throw new UsageError(
        `${place.launcher} started ${place.worldSize} ranks and train.distributed.ranks is ${configured}: start ${configured} (or set it to ${place.worldSize})`,
      );
    checkRankable(config, place.worldSize, `${place.launcher}'s ${place.worldSize} ranks`);
    // under srun the task's CPUs are its threads, as --nproc divides this machine's cores
    if (place.launcher === 'slurm' && !process.env.EPSILAB_TORCH_THREADS && process.env.SLURM_CPUS_PER_TASK)
      process.env.EPSILAB_TORCH_THREADS = process.env.SLURM_CPUS_PER_TASK;
  }
  const gpus = config.device === 'cuda' ? (libtorchReport().info?.cudaDevices ?? 0) : 0;
  const device = rankDevice(config.device, place ?? null, gpus);
  const backend = await selectBackend(config.backend, { device, threads: config.train.threads });
  if (place && backend.name !== 'libtorch')
    throw new UnavailableError(
      `ranks exchange gradients through libtorch, and backend ${config.backend} took ${backend.name}: set backend: libtorch (\`epsilab doctor\` says why it does not load)`,
    );
  return { backend, device };
}

/**
 * The ranks meet once rank 0 has settled the run folder (so that the others read its checkpoint only then), and all
 * follow rank 0's decision to train or not (a run already done).
 */
function meet(tf: typeof tfc, place: RankPlace, device: string, log: (line: string) => void, trains: boolean) {
  const parallel = joinDataParallel(tf, place, device, log);
  return { parallel, trains: parallel.agree(trains) };
}

async function executeLocked(o: ExecuteOptions): Promise<number> {
  const { config, runDir, log, place } = o;
  const { previous, done, apply } = reconcile(o);
  if (done && !place) return 0;
  // A backend or device this machine lacks is the user's choice to fix: it stops the run before its folder is written.
  const { backend, device } = await selectFor(o);
  if (!done) {
    apply();
    mkdirSync(runDir, { recursive: true });
    writeConfig(runDir, config, o.configText);
  }
  const met = place ? meet(backend.tf, place, device, log, !done) : { parallel: undefined, trains: true };
  if (!met.trains) return 0;
  const { parallel } = met;
  const stop: StopFlag = o.stop ?? { requested: false };
  const listening = listenForStop(stop, log, 'then writing a checkpoint', o.requeueSignal);
  const base = { experiment: config.experiment, run_id: runId(config) };
  try {
    for (const a of backend.attempts) if (!a.ok) log(`backend ${a.backend} skipped: ${a.why}`);
    // What was loaded and how (libtorch: its threads and OpenMP wait policy, and why).
    log(`backend: ${backend.name}: ${backend.attempts.at(-1)?.why ?? ''}`);
    const registry = o.registry ?? builtinRegistry;
    writeEnv(runDir, config, {
      backend: { name: backend.name, attempts: backend.attempts },
      configDir: o.configDir,
      plugins: pluginModules(registry, builtinRegistry),
      distributed: place && parallel ? distributedRecord({ ...o, place }, parallel) : undefined,
    });
    const tf = backend.tf;
    writeResult(runDir, { ...base, status: 'running', epochs_done: previous?.epochs_done ?? 0, metrics: {} });
    const buildOptions = { tf, configDir: o.configDir, log, registry, ranks: place?.worldSize };
    const built = await buildExperiment(config, buildOptions);
    const params = parameterCount(built.model.variables);
    const flops = built.model.flops();
    log(
      `${config.experiment}: ${built.dataset.name} (${built.dataset.train.size} train / ${built.dataset.test.size} test), ${built.model.name} with ${params.toLocaleString('en')} parameters, ${(flops / 1e6).toFixed(1)} MFLOPs per image`,
    );
    log(`run folder: ${runDir}`);
    let outcome: {
      status: RunStatus;
      last: Record<string, number>;
      epochsDone: number;
      globalStep: number;
      trainImagesPerSec: number;
      seconds: number;
    };
    let final = { model: built.model, section: config.model };
    let extra: Record<string, unknown> = {};
    if (config.distillation) {
      const plan = await buildComponent<DistillationParams>(
        'distillation',
        config.distillation,
        context(config, buildOptions),
      );
      const d = await distill({ config, plan, built, buildOptions, runDir, tf, log, stop, configText: o.configText });
      const lastStage = plan.stages[plan.stages.length - 1].name;
      outcome = { status: d.status, last: d.stages[lastStage] ?? {}, epochsDone: 0, ...d.training };
      final = { model: d.student, section: { ...config.model, ...plan.student } as ExperimentConfig['model'] };
      extra = { distillation: { teacher: d.teacherMetrics, stages: d.stages, ...d.comparison } };
    } else {
      const trained = await train({ config, built, runDir, tf, log, stop, configText: o.configText, parallel });
      outcome = trained;
      Object.assign(extra, trained.records);
    }
    if (outcome.status === 'done')
      await writeFinalModel(runDir, final.model.variables, {
        model: final.section,
        inputShape: built.inputShape,
        numClasses: built.dataset.numClasses,
      });
    writeResult(runDir, {
      ...base,
      status: outcome.status,
      epochs_done: outcome.epochsDone,
      global_step: outcome.globalStep,
      metrics: outcome.last,
      params: parameterCount(final.model.variables),
      flops: final.model.flops(),
      ...extra,
      backend: backend.name,
      dataset: {
        name: built.dataset.name,
        train: built.dataset.train.size,
        test: built.dataset.test.size,
        source: built.dataset.source,
      },
      timings: { train_images_per_sec: outcome.trainImagesPerSec, wall_seconds_this_session: outcome.seconds },
    });
    built.model.dispose();
    built.optimizer.dispose();
    if (outcome.status === 'interrupted') return listening.requeued() ? REQUEUE_EXIT_CODE : 130;
    if (outcome.status === 'diverged') return 1;
    log(
      `done: test error ${fmt(outcome.last.test_error)}, top-5 ${fmt(outcome.last.test_top5_error)}; results in ${runDir}`,
    );
    return 0;
  } catch (err) {
    recordFailure(runDir, base, err as Error, log);
    throw err;
  } finally {
    listening.off();
  }
}

/**
 * SIGINT/SIGTERM raise `stop` (the step in progress finishes first); a second one quits at once. So does a scheduler's
 * requeue signal, which `requeued` then reports. `off` unsubscribes.
 */
function listenForStop(
  stop: StopFlag,
  log: (line: string) => void,
  then: string,
  requeueSignal?: NodeJS.Signals,
): { off: () => void; requeued: () => boolean } {
  const onSignal = (signal: string) => {
    if (stop.requested) process.exit(130);
    stop.requested = true;
    stop.signal = signal;
    log(`${signal}: finishing the current step, ${then} (press again to quit at once)`);
  };
  let requeue = false;
  const handlers: Partial<Record<NodeJS.Signals, () => void>> = {
    SIGINT: () => onSignal('SIGINT'),
    SIGTERM: () => onSignal('SIGTERM'),
  };
  if (requeueSignal)
    handlers[requeueSignal] = () => {
      requeue = true;
      onSignal(`${requeueSignal} (time limit near)`);
    };
  for (const [signal, handler] of Object.entries(handlers)) process.on(signal, handler);
  return {
    off: () => {
      for (const [signal, handler] of Object.entries(handlers)) process.off(signal, handler);
    },
    requeued: () => requeue,
  };
}

/** A rank other than 0: trains its part of every batch alongside rank 0 and writes nothing in the run folder. */
async function trainPeer(o: ExecuteOptions, place: RankPlace): Promise<number> {
  const { config, log } = o;
  const { backend, device } = await selectFor(o);
  const tf = backend.tf;
  const { parallel, trains } = meet(tf, place, device, log, false);
  if (!trains) return 0;
  const stop: StopFlag = o.stop ?? { requested: false };
  const listening = listenForStop(
    stop,
    log,
    'then stopping with the others (rank 0 writes the checkpoint)',
    o.requeueSignal,
  );
  try {
    const registry = o.registry ?? builtinRegistry;
    const built = await buildExperiment(config, { tf, configDir: o.configDir, log, registry, ranks: place.worldSize });
    const trained = await train({ config, built, runDir: o.runDir, tf, log, stop, configText: o.configText, parallel });
    built.model.dispose();
    built.optimizer.dispose();
    log(`rank ${place.rank}: ${trained.status} after ${trained.epochsDone} epochs`);
    if (trained.status === 'interrupted') return listening.requeued() ? REQUEUE_EXIT_CODE : 130;
    return trained.status === 'done' ? 0 : 1;
  } finally {
    listening.off();
  }
}

/** env.json's record of a data-parallel run: its ranks, how they exchange gradients, and each one's device and host. */
function distributedRecord(o: ExecuteOptions & { place: RankPlace }, parallel: DataParallel): Record<string, unknown> {
  const { place, config } = o;
  const gpus = config.device === 'cuda' ? (libtorchReport().info?.cudaDevices ?? 0) : 0;
  const layout = rankLayout(place);
  return {
    world_size: place.worldSize,
    launcher: place.launcher,
    process_group: parallel.group.backendName,
    timeout_s: place.timeoutMs / 1000,
    rendezvous: place.file ?? `${place.host}:${place.port}`,
    devices: layout.map((r) => rankDevice(config.device, { ...place, localRank: r.localRank }, gpus)),
    hosts: layout.map((r) => r.host),
  };
}

/** Record a failed run; when even that cannot be written (a full disk), say so and keep the original error. */
function recordFailure(
  runDir: string,
  base: { experiment: string; run_id: string },
  err: Error,
  log: (line: string) => void,
): void {
  try {
    let epochsDone = 0;
    try {
      epochsDone = readResult(runDir)?.epochs_done ?? 0;
    } catch {
      // a damaged result.json is replaced by this record
    }
    writeResult(runDir, { ...base, status: 'failed', epochs_done: epochsDone, metrics: {}, error: err.message });
  } catch (writeErr) {
    log(`could not record the failure in ${runDir}/result.json: ${(writeErr as Error).message}`);
  }
}

function fmt(v: number | undefined): string {
  return v === undefined ? '–' : `${(100 * v).toFixed(2)}%`;
}
