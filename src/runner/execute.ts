import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentConfig } from '../config/load.js';
import { runId } from '../run/run-id.js';
import { selectBackend } from '../backends/select.js';
import { buildComponent, buildExperiment, context } from '../train/build.js';
import type { DistillationParams } from '../train/distill-plan.js';
import { distill } from '../train/distill.js';
import { exportModel } from '../run/model-files.js';
import { parameterCount } from '../models/nn.js';
import { train, type RunStatus, type StopFlag } from '../train/trainer.js';
import { readResult, writeConfig, writeEnv, writeResult } from '../run/run-folder.js';
import type { Registry } from '../registry/registry.js';
import { builtinRegistry } from '../components/index.js';

export interface ExecuteOptions {
  config: ExperimentConfig;
  configText: string;
  /** Folder the config came from, for relative paths inside it. */
  configDir: string;
  runDir: string;
  log: (line: string) => void;
  force?: boolean;
  /** Built-in components plus the config's plugins. */
  registry?: Registry;
  /** Raised by SIGINT/SIGTERM, or by an embedding caller, to checkpoint and stop after the current step. */
  stop?: StopFlag;
}

/** Exit codes: 0 done (or already done), 1 failed or diverged, 130 interrupted. */
export async function executeRun(o: ExecuteOptions): Promise<number> {
  const { config, runDir, log } = o;
  const previous = readResult(runDir);
  if (previous?.status === 'done' && !o.force) {
    log(`${runDir} is already done (test error ${fmt(previous.metrics.test_error)}); nothing to run`);
    return 0;
  }
  // A backend or device this machine lacks is the user's choice to fix: it stops the run before its folder is touched.
  const backend = await selectBackend(config.backend, { device: config.device });
  mkdirSync(runDir, { recursive: true });
  writeConfig(runDir, config, o.configText);
  const stop: StopFlag = o.stop ?? { requested: false };
  const onSignal = (signal: string) => {
    if (stop.requested) process.exit(130);
    stop.requested = true;
    stop.signal = signal;
    log(`${signal}: finishing the current step, then writing a checkpoint (press again to quit at once)`);
  };
  const handlers = { SIGINT: () => onSignal('SIGINT'), SIGTERM: () => onSignal('SIGTERM') };
  process.on('SIGINT', handlers.SIGINT);
  process.on('SIGTERM', handlers.SIGTERM);
  const base = { experiment: config.experiment, run_id: runId(config) };
  try {
    for (const a of backend.attempts) if (!a.ok) log(`backend ${a.backend} skipped: ${a.why}`);
    log(`backend: ${backend.name}`);
    writeEnv(runDir, config, { name: backend.name, attempts: backend.attempts }, o.configDir);
    const tf = backend.tf;
    writeResult(runDir, { ...base, status: 'running', epochs_done: previous?.epochs_done ?? 0, metrics: {} });
    const buildOptions = { tf, configDir: o.configDir, log, registry: o.registry ?? builtinRegistry };
    const built = await buildExperiment(config, buildOptions);
    const params = parameterCount(built.model.variables);
    const flops = built.model.flops();
    log(`${config.experiment}: ${built.dataset.name} (${built.dataset.train.size} train / ${built.dataset.test.size} test), ${built.model.name} with ${params.toLocaleString('en')} parameters, ${(flops / 1e6).toFixed(1)} MFLOPs per image`);
    log(`run folder: ${runDir}`);
    let outcome: { status: RunStatus; last: Record<string, number>; epochsDone: number; globalStep: number; trainImagesPerSec: number; seconds: number };
    let final = { model: built.model, section: config.model };
    let extra: Record<string, unknown> = {};
    if (config.distillation) {
      const plan = await buildComponent<DistillationParams>('distillation', config.distillation, context(config, buildOptions));
      const d = await distill({ config, plan, built, buildOptions, runDir, tf, log, stop, configText: o.configText });
      const lastStage = plan.stages[plan.stages.length - 1].name;
      outcome = { status: d.status, last: d.stages[lastStage] ?? {}, epochsDone: 0, ...d.training };
      final = { model: d.student, section: { ...config.model, ...plan.student } as ExperimentConfig['model'] };
      extra = { distillation: { teacher: d.teacherMetrics, stages: d.stages, ...d.comparison } };
    } else {
      const trained = await train({ config, built, runDir, tf, log, stop, configText: o.configText });
      outcome = trained;
      if (trained.evaluationCheck) extra.evaluation_check = trained.evaluationCheck;
      if (trained.recalibration) extra.bn_recalibration = trained.recalibration;
    }
    if (outcome.status === 'done') await exportModel(join(runDir, 'model'), final.model.variables, { model: final.section, inputShape: built.inputShape, numClasses: built.dataset.numClasses });
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
      dataset: { name: built.dataset.name, train: built.dataset.train.size, test: built.dataset.test.size, source: built.dataset.source },
      timings: { train_images_per_sec: outcome.trainImagesPerSec, wall_seconds_this_session: outcome.seconds },
    });
    built.model.dispose();
    built.optimizer.dispose();
    if (outcome.status === 'interrupted') return 130;
    if (outcome.status === 'diverged') return 1;
    log(`done: test error ${fmt(outcome.last.test_error)}, top-5 ${fmt(outcome.last.test_top5_error)}; results in ${runDir}`);
    return 0;
  } catch (err) {
    writeResult(runDir, { ...base, status: 'failed', epochs_done: readResult(runDir)?.epochs_done ?? 0, metrics: {}, error: (err as Error).message });
    throw err;
  } finally {
    process.off('SIGINT', handlers.SIGINT);
    process.off('SIGTERM', handlers.SIGTERM);
  }
}

function fmt(v: number | undefined): string {
  return v === undefined ? '–' : `${(100 * v).toFixed(2)}%`;
}
