import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type * as tfc from '@tensorflow/tfjs-core';
import { InputPipeline } from '../data/pipeline.js';
import { resolveTransforms, TransformChain, type ResolvedTransform } from '../data/transform-chain.js';
import type { DatasetSplits } from '../data/types.js';
import type { ComponentSection } from '../registry/experiment.js';
import type { Model } from '../models/types.js';
import { encodeTensor, ONNX_OPSET } from '../models/onnx/graph.js';
import { nhwcToNchw, onnxGraphOf, openSession, runLogits } from '../models/onnx/runtime.js';
import { writeFileAtomic } from '../util/atomic.js';
import { EpsilabError } from '../util/errors.js';
import { projectRoot } from '../util/paths.js';
import { openTrainedRun } from '../train/trained-run.js';
import { lockRunFolder } from '../run/lock.js';
import { locateRunModel } from '../run/run-folder.js';
import { runRegistry } from './run-registry.js';

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

/** The first `n` test images through the test transforms, as the evaluation reads them. */
async function testBatch(
  dataset: DatasetSplits,
  transforms: ResolvedTransform[],
  n: number,
  seed: number,
): Promise<{ x: Float32Array; shape: [number, number, number, number] }> {
  const pipeline = new InputPipeline({
    set: dataset.test,
    transforms,
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
  sections: ComponentSection[],
  transforms: ResolvedTransform[],
  tf: typeof tfc,
  seed: number,
): Promise<unknown[]> {
  const chain = await TransformChain.build(transforms, {
    tf,
    seed,
    configDir: process.cwd(),
    facts: {},
    log: () => {},
  });
  chain.fit({ train: dataset.train, test: dataset.test });
  return sections.map((section, i) => {
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
  const { runDir, outDir, config, section, backend, tf, dataset, model, build } = await openTrainedRun(target, {
    registry: await runRegistry(locateRunModel(target).runDir),
    log,
    teacher: o.teacher,
  });
  try {
    const file = o.out ?? join(outDir, 'model.onnx');
    const testDir = join(dirname(file), 'test_data_set_0');
    const transforms = resolveTransforms(build.registry, config.transforms.test);
    const batch = await testBatch(dataset, transforms, o.batch, config.seed);
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
      metadata: metadata(
        model,
        section,
        await preprocessing(dataset, config.transforms.test, transforms, tf, config.seed),
        {
          'epsilab.dataset': JSON.stringify({ name: dataset.name, classes: dataset.numClasses }),
          'epsilab.run': runId,
        },
      ),
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
