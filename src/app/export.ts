import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type * as tfc from '@tensorflow/tfjs-core';
import { InputPipeline } from '../data/pipeline.js';
import { resolveTransforms, TransformChain } from '../data/transform-chain.js';
import type { DatasetSplits } from '../data/types.js';
import type { ComponentSection, ExperimentConfig } from '../registry/experiment.js';
import type { Model } from '../models/types.js';
import { encodeTensor, ONNX_OPSET } from '../models/onnx/graph.js';
import { nhwcToNchw, onnxGraphOf, openSession, runLogits } from '../models/onnx/runtime.js';
import { writeFileAtomic } from '../util/atomic.js';
import { EpsilabError } from '../util/errors.js';
import { projectRoot } from '../util/paths.js';
import { selectBackend } from '../backends/select.js';
import { buildDataset, buildModel, context, transformedShape } from '../train/build.js';
import { assignSavedWeights, readExportedModel, type ExportedModel } from '../run/model-files.js';
import { loadLatestCheckpoint } from '../run/checkpoint.js';
import { lockRunFolder } from '../run/lock.js';
import { locateRunModel, readConfigDir, readRunConfig, readRunModel } from '../run/run-folder.js';
import { builtinRegistry } from '../components/index.js';
import { UsageError } from '../util/errors.js';

export interface ExportOptions {
  /** The .onnx file; default `<model-dir>/model.onnx` (`<run-dir>/teacher/model.onnx` for the teacher). The test data set goes beside it. */
  out?: string;
  /** Export a distillation run's teacher instead of its student. */
  teacher?: boolean;
  /** Test images in test_data_set_0. */
  batch: number;
  /** Largest |logit difference| between onnxruntime and epsilab that passes the check. */
  tolerance: number;
}

export interface ExportRecord {
  file: string;
  test_data: string;
  opset: number;
  images: number;
  nodes: number;
  bytes: number;
  backend: string;
  /** Largest |onnxruntime logit − epsilab logit| over the test batch. */
  max_abs_difference: number;
}

/**
 * The weights to export: a model folder's, or with `teacher` a distillation run's teacher (the run it was loaded from,
 * or the last checkpoint of the teacher trained in the run, which the trainer writes at its last epoch).
 */
function savedWeights(
  runDir: string,
  modelDir: string,
  config: ExperimentConfig,
  teacher: boolean,
): { section: ComponentSection; saved: ExportedModel; outDir: string } {
  if (!teacher) {
    const saved = readExportedModel(modelDir);
    return { section: saved.topology.model as ComponentSection, saved, outDir: modelDir };
  }
  const plan = config.distillation as { teacher?: { run?: string } } | undefined;
  if (!plan) throw new UsageError(`--teacher needs a distillation run; ${runDir} trained one model`);
  if (plan.teacher?.run)
    return {
      section: config.model,
      saved: readRunModel(resolve(plan.teacher.run)).model,
      outDir: join(runDir, 'teacher'),
    };
  const checkpoint = loadLatestCheckpoint(join(runDir, 'teacher'));
  if (!checkpoint)
    throw new UsageError(
      `${runDir} has no teacher checkpoint (teacher/checkpoints): has its teacher finished training?`,
    );
  const values = new Map(
    [...checkpoint.values].filter(([k]) => k.startsWith('model/')).map(([k, v]) => [k.slice('model/'.length), v]),
  );
  return {
    section: config.model,
    saved: { dir: checkpoint.path, topology: {}, values },
    outDir: join(runDir, 'teacher'),
  };
}

/** A run's final model (or its teacher), or a model folder inside a run (its compressed model), rebuilt with the run's config, dataset and backend. */
async function openModelFolder(target: string, teacher: boolean) {
  const { runDir, modelDir } = locateRunModel(target);
  if (teacher && runDir !== target) throw new UsageError('--teacher takes the run folder itself');
  const config = readRunConfig(runDir);
  const { section, saved, outDir } = savedWeights(runDir, modelDir, config, teacher);
  const backend = await selectBackend(config.backend, { device: config.device });
  const tf = backend.tf;
  const opts = {
    tf,
    configDir: readConfigDir(runDir),
    log: (l: string) => console.error(l),
    registry: builtinRegistry,
  };
  const dataset = await buildDataset(config, opts);
  const inputShape = await transformedShape(dataset, config.transforms.train, context(config, opts));
  const model = await buildModel(config, opts, inputShape, dataset.numClasses, section);
  assignSavedWeights(tf, model.variables, saved, saved.dir);
  return { runDir, outDir, config, section, backend, tf, dataset, model };
}

/** The first `n` test images through the test transforms, as the evaluation reads them. */
async function testBatch(
  dataset: DatasetSplits,
  transforms: ComponentSection[],
  n: number,
  seed: number,
): Promise<{ x: Float32Array; shape: [number, number, number, number] }> {
  const pipeline = new InputPipeline({
    set: dataset.test,
    transforms: resolveTransforms(builtinRegistry, transforms),
    batchSize: Math.min(n, dataset.test.size),
    shuffle: false,
    seed,
    workers: 0,
    fit: { train: dataset.train, test: dataset.test },
  });
  try {
    for await (const b of pipeline.batches(0, 0)) return { x: b.x, shape: b.shape };
  } finally {
    await pipeline.close();
  }
  throw new Error('the test split has no images');
}

/** Each test transform as the config gives it, with what it learned from the data (a mean image in H×W×C order) where it fits. */
async function preprocessing(
  dataset: DatasetSplits,
  transforms: ComponentSection[],
  tf: typeof tfc,
  seed: number,
): Promise<unknown[]> {
  const chain = await TransformChain.build(resolveTransforms(builtinRegistry, transforms), {
    tf,
    seed,
    configDir: process.cwd(),
    facts: {},
    log: () => {},
  });
  chain.fit({ train: dataset.train, test: dataset.test });
  return transforms.map((section, i) => {
    const t = chain.transforms[i];
    if (!t.fit || !t.fitState) return section;
    const state = Object.fromEntries(
      Object.entries(t.fitState() as Record<string, unknown>).map(([k, v]) => [
        k,
        ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v,
      ]),
    );
    return { ...section, fitted: state };
  });
}

/** Human-readable notes and machine-readable JSON for the model's metadata_props. */
function metadata(
  model: Model,
  section: ComponentSection,
  prep: unknown[],
  extra: Record<string, string>,
): Record<string, string> {
  const [h, w, c] = model.inputShape;
  const gated = section.epsilon !== null && section.epsilon !== undefined && section.type !== 'torch-resnet';
  return {
    'epsilab.input': `input: float32 [batch, ${c}, ${h}, ${w}] (NCHW): images after the transforms in epsilab.preprocessing, applied in order to H×W×C pixels (0-255)`,
    'epsilab.preprocessing': JSON.stringify(prep),
    'epsilab.output': `logits: float32 [batch, ${model.numClasses}]: class scores before softmax`,
    'epsilab.model': JSON.stringify(section),
    'epsilab.batch_norm':
      'folded into the convolution before it where one precedes it (exact); pre-activation batch norms, which follow a residual sum, are BatchNormalization nodes',
    ...(gated
      ? {
          'epsilab.gates':
            section.test_gate === 'last-train'
              ? "test_gate last-train: each block's gate is the constant <block>/gate (1 keeps, 0 removes its residual branch), as the last training batch left it"
              : "test_gate recompute: each block's gate is computed from its response over the WHOLE batch (ReduceMax over every image), as epsilab evaluates; an image's logits can depend on the other images of its batch",
        }
      : {}),
    ...extra,
  };
}

/**
 * `epsilab export --format onnx`: the run's (or model folder's) network as an ONNX graph, a batch of real test images
 * and epsilab's logits for them in the ONNX model zoo's layout, and a check that onnxruntime reproduces those logits.
 */
export async function exportOnnx(target: string, o: ExportOptions, log: (line: string) => void): Promise<ExportRecord> {
  const lock = await lockRunFolder(locateRunModel(target).runDir, { purpose: 'export', log });
  try {
    return await exportLocked(target, o, log);
  } finally {
    lock.release();
  }
}

async function exportLocked(target: string, o: ExportOptions, log: (line: string) => void): Promise<ExportRecord> {
  const { runDir, outDir, config, section, backend, tf, dataset, model } = await openModelFolder(
    target,
    o.teacher ?? false,
  );
  try {
    const file = o.out ?? join(outDir, 'model.onnx');
    const testDir = join(dirname(file), 'test_data_set_0');
    const batch = await testBatch(dataset, config.transforms.test, o.batch, config.seed);
    const epsilab = tf.tidy(
      () => model.apply(tf.tensor4d(batch.x, batch.shape), { training: false }).logits.dataSync() as Float32Array,
    );
    const [n, h, w, c] = batch.shape;
    const input = nhwcToNchw(batch.x, batch.shape);
    const version = (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string })
      .version;
    const { graph, logits } = onnxGraphOf(model);
    const runId = `${config.experiment}/${basename(runDir)}${o.teacher ? ' (teacher)' : ''}`;
    const bytes = graph.encode(logits, {
      graphName: model.name,
      producerVersion: version,
      docString: `${model.name} exported by epsilab ${version} from ${runId}`,
      metadata: metadata(model, section, await preprocessing(dataset, config.transforms.test, tf, config.seed), {
        'epsilab.dataset': JSON.stringify({ name: dataset.name, classes: dataset.numClasses }),
        'epsilab.run': runId,
      }),
    });
    writeFileAtomic(file, bytes);
    writeFileAtomic(join(testDir, 'input_0.pb'), encodeTensor('input', [n, c, h, w], input));
    writeFileAtomic(join(testDir, 'output_0.pb'), encodeTensor('logits', [n, model.numClasses], epsilab));

    const session = await openSession(bytes);
    const ort = await runLogits(session, input, [n, c, h, w]);
    await session.release();
    const diff = epsilab.reduce((m, v, i) => Math.max(m, Math.abs(v - ort[i])), 0);
    const record: ExportRecord = {
      file,
      test_data: testDir,
      opset: ONNX_OPSET,
      images: n,
      nodes: graph.nodeCount,
      bytes: bytes.length,
      backend: backend.name,
      max_abs_difference: diff,
    };
    log(
      `${model.name}: ${file} (${(bytes.length / 1e6).toFixed(2)} MB, opset ${ONNX_OPSET}); onnxruntime vs epsilab (${backend.name}) on ${n} test images: max |Δ logit| ${diff.toExponential(2)}`,
    );
    if (!(diff <= o.tolerance))
      throw new EpsilabError(
        `onnxruntime's logits differ from epsilab's by up to ${diff.toExponential(3)} (tolerance ${o.tolerance}); the export is written but does not reproduce the model`,
      );
    return record;
  } finally {
    model.dispose();
  }
}
