import type * as tfc from '@tensorflow/tfjs-core';
import type { ExperimentConfig } from '../config/load.js';
import { buildComponent, buildModel, context } from '../train/build.js';
import { openTrainedRun } from '../train/trained-run.js';
import { DISCARDED_PRINT_ONE } from '../train/gate-tracking.js';
import { evaluate } from '../train/evaluate.js';
import { lockRunFolder } from '../run/lock.js';
import { timeInference, timeOnnxInference } from '../train/inference-timing.js';
import { parameterCount } from '../models/nn.js';
import type { Loss } from '../train/types.js';
import type { Model } from '../models/types.js';
import { planCompression, remapWeights } from '../models/compress.js';
import { assignByName, variableMap } from '../models/weights.js';
import { discardedRatio } from '../models/gate.js';
import { UsageError } from '../util/errors.js';
import { readMetrics, readResult, readRunConfig, writeCompressedModel, writeResult } from '../run/run-folder.js';
import { resolveTransforms } from '../data/transform-chain.js';
import { runRegistry } from './run-registry.js';

export type WeightCheck = 'report' | 'require' | 'off';

export interface CompressOptions {
  /** report: list blocks where the gate and the weights disagree; require: also keep a gated-off block whose weights are not near zero. */
  weightCheck: WeightCheck;
  /** Largest |w| of a block's kernels that counts as collapsed. */
  weightTolerance: number;
  timingBatch: number;
  timingRepeats: number;
  /** Wait for another process holding the run folder instead of failing. */
  wait?: boolean;
  log: (line: string) => void;
}

/** The last epoch's averaged is_discarded of every gated block, from metrics.jsonl. */
function lastDiscardReadings(runDir: string): { epoch: number; step: number; blocks: Record<string, number> } {
  const lines = readMetrics(runDir) as Record<string, number>[];
  if (!lines.length) throw new UsageError(`${runDir} has no metrics.jsonl lines: has it trained an epoch?`);
  const last = lines.filter((l) => !('stage' in l)).at(-1);
  if (!last) throw new UsageError(`${runDir} has no finished epoch`);
  const blocks = Object.fromEntries(
    Object.entries(last)
      .filter(([k]) => k.endsWith('/is_discarded'))
      .map(([k, v]) => [k.slice(0, -'/is_discarded'.length), v]),
  );
  if (Object.keys(blocks).length === 0)
    throw new UsageError(`${runDir} is not an ε-ResNet run: its metrics have no is_discarded readings`);
  return { epoch: last.epoch, step: last.step, blocks };
}

function ms(seconds: number): string {
  return (1000 * seconds).toFixed(2);
}

/** Largest |w| over the kernels of a block's residual branch F (an ImageNet block's ungated `convshortcut` is not part of it). */
function blockWeightMax(tf: typeof tfc, model: Model, block: string): number {
  const kernels = model.variables.filter(
    (v) => v.name.startsWith(`${block}/`) && v.name.endsWith('/W') && !v.name.includes('/convshortcut/'),
  );
  return Math.max(...kernels.map((v) => tf.tidy(() => tf.max(tf.abs(v.variable)).dataSync()[0])));
}

/** Blocks whose stored last training gate (test_gate: last-train's `<block>/identity`) is 0. */
function lastGateOff(model: Model): string[] {
  const memories = model.variables.filter((v) => v.name.endsWith('/identity'));
  return memories.filter((v) => v.variable.dataSync()[0] === 0).map((v) => v.name.slice(0, -'/identity'.length));
}

/**
 * `epsilab compress`: remove the blocks an ε-ResNet run discarded (averaged is_discarded prints as 1), check them
 * against their weights, rebuild the standard pre-activation ResNet without them, and measure both networks.
 */
export async function compressRun(runDir: string, o: CompressOptions): Promise<Record<string, unknown>> {
  const config: ExperimentConfig = readRunConfig(runDir);
  const lock = await lockRunFolder(runDir, { purpose: 'compress', wait: o.wait, log: o.log });
  try {
    return await compressLocked(runDir, config, o);
  } finally {
    lock.release();
  }
}

async function compressLocked(
  runDir: string,
  config: ExperimentConfig,
  o: CompressOptions,
): Promise<Record<string, unknown>> {
  const readings = lastDiscardReadings(runDir);
  const registry = await runRegistry(runDir);
  const { type, ...modelParams } = config.model;
  const compression = registry.find('model', type)?.compression?.(modelParams as never);
  if (!compression) throw new UsageError(`${runDir}: a ${type} model has no blocks epsilab compress can remove`);
  const run = await openTrainedRun(runDir, { registry, log: o.log });
  const { tf, backend, dataset, inputShape, build: opts, model: original } = run;

  const gated = Object.entries(readings.blocks)
    .filter(([, v]) => v >= DISCARDED_PRINT_ONE)
    .map(([b]) => b);
  const disagreements: { block: string; is_discarded: number; weight_max: number; why: string }[] = [];
  let discarded = gated;
  if (o.weightCheck !== 'off') {
    for (const [block, value] of Object.entries(readings.blocks)) {
      const wmax = blockWeightMax(tf, original, block);
      const collapsed = wmax <= o.weightTolerance;
      const off = value >= DISCARDED_PRINT_ONE;
      if (off && !collapsed)
        disagreements.push({
          block,
          is_discarded: value,
          weight_max: wmax,
          why: 'gated off but its weights have not decayed to zero',
        });
      if (!off && collapsed)
        disagreements.push({
          block,
          is_discarded: value,
          weight_max: wmax,
          why: 'weights near zero but the gate still opens',
        });
    }
    for (const d of disagreements)
      o.log(
        `warning: ${d.block}: ${d.why} (is_discarded ${d.is_discarded.toPrecision(6)}, max |W| ${d.weight_max.toExponential(2)})`,
      );
    if (o.weightCheck === 'require') discarded = gated.filter((b) => !disagreements.some((d) => d.block === b));
  }
  const plan = planCompression(
    compression,
    original.variables.map((v) => v.name),
    discarded,
  );
  const offButKept = lastGateOff(original).filter((b) => !plan.discarded.includes(b));
  for (const b of offButKept)
    o.log(
      `warning: ${b}: gated off on the last training batch but kept (is_discarded ${readings.blocks[b].toPrecision(6)}): the compressed model computes it, the trained one does not`,
    );
  const compressed = await buildModel(config, opts, inputShape, dataset.numClasses, plan.model);
  assignByName(compressed.variables, remapWeights(plan, variableMap(original.variables)));

  const loss = await buildComponent<Loss>('loss', config.loss, context(config, opts));
  const before = await evaluate(tf, original, {
    loss,
    dataset,
    split: 'test',
    transforms: resolveTransforms(opts.registry, config.transforms.test),
    batchSize: config.train.eval_batch_size,
    seed: config.seed,
    compile: config.train.compile,
  });
  const after = await evaluate(tf, compressed, {
    loss,
    dataset,
    split: 'test',
    transforms: resolveTransforms(opts.registry, config.transforms.test),
    batchSize: config.train.eval_batch_size,
    seed: config.seed,
    compile: config.train.compile,
  });
  const tBefore = await timeInference(tf, original, o.timingBatch, o.timingRepeats, config.train.compile);
  const tAfter = await timeInference(tf, compressed, o.timingBatch, o.timingRepeats, config.train.compile);
  const ortBefore = await timeOnnxInference(original, o.timingRepeats);
  const ortAfter = await timeOnnxInference(compressed, o.timingRepeats);
  const totalBlocks = Object.keys(readings.blocks).length;
  const record = {
    source: { run_dir: runDir, epoch: readings.epoch, step: readings.step },
    discarded: plan.discarded,
    discarded_ratio: discardedRatio(plan.discarded.length, totalBlocks),
    structure: plan.model.structure,
    discard_first_block: plan.model.discard_first_block,
    block_map: plan.blockMap,
    weight_check: { mode: o.weightCheck, tolerance: o.weightTolerance, disagreements },
    last_gate_off_but_kept: offButKept,
    before: {
      error: before.error,
      top5_error: before.top5Error,
      params: parameterCount(original.variables),
      flops: original.flops(),
      inference: tBefore,
      onnxruntime: ortBefore,
    },
    after: {
      error: after.error,
      top5_error: after.top5Error,
      params: parameterCount(compressed.variables),
      flops: compressed.flops(),
      inference: tAfter,
      onnxruntime: ortAfter,
    },
    backend: backend.name,
  };
  const dir = await writeCompressedModel(
    runDir,
    compressed.variables,
    { model: plan.model, inputShape, numClasses: dataset.numClasses },
    record,
  );
  const result = readResult(runDir);
  if (result) writeResult(runDir, { ...result, compression: record });
  o.log(
    `removed ${plan.discarded.length} of ${totalBlocks} blocks (${plan.discarded.join(', ') || 'none'}); structure [${plan.model.structure}]; ` +
      `error ${(100 * before.error).toFixed(2)}% → ${(100 * after.error).toFixed(2)}% (top-5 ${(100 * before.top5Error).toFixed(2)}% → ${(100 * after.top5Error).toFixed(2)}%); params ${record.before.params} → ${record.after.params}; ` +
      `${tBefore.images_per_sec.toFixed(1)} → ${tAfter.images_per_sec.toFixed(1)} img/s; onnxruntime ${ms(ortBefore.latency_seconds)} → ${ms(ortAfter.latency_seconds)} ms at batch 1, ` +
      `${ortBefore.images_per_sec.toFixed(1)} → ${ortAfter.images_per_sec.toFixed(1)} img/s at batch ${ortAfter.batch}; written to ${dir}`,
  );
  original.dispose();
  compressed.dispose();
  return record;
}
