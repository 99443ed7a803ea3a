import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { loadExperiment } from '../../src/config/load.js';
import { decodeTensor } from '../../src/models/onnx/graph.js';
import { openSession, runLogits } from '../../src/models/onnx/runtime.js';
import { buildDataset } from '../../src/train/build.js';
import { tf } from '../../src/backends/tfjs.js';
import { projectRoot } from '../../src/util/paths.js';
import { tinyRun, trainConfig } from '../helpers/tiny-run.js';

const BIN = join(projectRoot(), 'bin', 'epsilab.js');
const { onnx } = onnxProto;

test('`epsilab export --format onnx` writes a graph and model-zoo test data of real test images that onnxruntime reproduces', async () => {
  // An ε-ResNet-8 on the first 48 / 12 images of the shipped Fashion-MNIST subset, two steps: any trained weights do.
  const { dir, file, runDir } = tinyRun(
    'export',
    `experiment: tiny-export
backend: cpu
seed: 3
dataset: { type: fashion-mnist, path: ${JSON.stringify(join(projectRoot(), 'data', 'fashion-mnist-subset'))}, subset: { train: { first: 48 }, test: { first: 12 } } }
transforms: { train: [{ type: per-pixel-mean, over: train, scale: 128 }], test: [{ type: per-pixel-mean, over: train, scale: 128 }] }
model: { type: epsilon-resnet, depth: 8, epsilon: 0.5 }
optimizer: { type: momentum }
schedule: { type: step, initial: 0.05 }
loss: { type: cross-entropy }
train: { epochs: 1, batch_size: 24, eval_batch_size: 12 }
`,
  );
  assert.equal((await trainConfig(file, runDir)).code, 0);
  const e = await loadExperiment(file);

  const r = spawnSync(process.execPath, [BIN, 'export', runDir, '--format', 'onnx', '--images', '5'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const record = JSON.parse(r.stdout) as { file: string; opset: number; max_abs_difference: number };
  assert.equal(record.file, join(runDir, 'model', 'model.onnx'));
  assert.ok(record.opset >= 13);
  assert.ok(record.max_abs_difference <= 1e-4);

  // The zoo's check, done here independently: the model on input_0.pb gives output_0.pb.
  const testDir = join(runDir, 'model', 'test_data_set_0');
  const input = decodeTensor(readFileSync(join(testDir, 'input_0.pb')));
  const output = decodeTensor(readFileSync(join(testDir, 'output_0.pb')));
  assert.deepEqual(input.dims, [5, 1, 28, 28]);
  assert.deepEqual(output.dims, [5, 10]);
  const session = await openSession(readFileSync(record.file));
  const logits = await runLogits(session, input.data, input.dims);
  await session.release();
  assert.ok(logits.every((v, i) => Math.abs(v - output.data[i]) <= 1e-4));

  // The metadata's preprocessing turns the first raw test image into input_0's first image.
  const proto = onnx.ModelProto.decode(readFileSync(record.file));
  const meta = Object.fromEntries(proto.metadataProps.map((p) => [p.key, p.value]));
  const [prep] = JSON.parse(meta['epsilab.preprocessing']) as {
    type: string;
    scale: number;
    fitted: { mean: number[] };
  }[];
  assert.equal(prep.type, 'per-pixel-mean');
  assert.equal(prep.fitted.mean.length, 28 * 28);
  assert.match(meta['epsilab.gates'], /recompute/);
  const dataset = await buildDataset(e.config, { tf, configDir: dir, log: () => {}, registry: e.registry });
  const raw = dataset.test.image(0).data;
  assert.ok(
    Array.from(raw).every((v, k) => Math.abs((v - prep.fitted.mean[k]) / prep.scale - input.data[k]) < 1e-6),
    'input_0 holds the real first test image, preprocessed as documented',
  );

  const bad = spawnSync(process.execPath, [BIN, 'export', runDir, '--format', 'tflite'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--format must be onnx/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
});

test('a distillation run exports its plain student and, with --teacher, the teacher trained in the run; both match in onnxruntime', async () => {
  const { file, runDir } = tinyRun(
    'export-nores',
    `experiment: export-nores
seed: 4
backend: cpu
dataset: { type: synthetic, num_classes: 3, train_size: 16, test_size: 8, height: 8, width: 8 }
model: { type: torch-resnet, variant: resnet18 }
optimizer: { type: momentum, momentum: 0.9 }
schedule: { type: step, initial: 0.05 }
loss: { type: cross-entropy }
train: { epochs: 1, batch_size: 8, eval_batch_size: 8 }
distillation:
  type: progressive
  teacher: { train: true }
  student: { plain: true }
  timing_batch: 4
  timing_repeats: 1
  stages: [{ name: finetune, train: [all], loss: [{ kind: cross-entropy }], optimizer: { type: momentum }, schedule: { type: step, initial: 0.01 }, epochs: 1 }]
`,
  );
  assert.equal((await trainConfig(file, runDir)).code, 0);
  const { exportOnnx } = await import('../../src/app/export.js');
  const student = await exportOnnx(runDir, { batch: 4, tolerance: 1e-4 }, () => {});
  const teacher = await exportOnnx(runDir, { batch: 4, tolerance: 1e-4, teacher: true }, () => {});
  assert.equal(student.file, join(runDir, 'model', 'model.onnx'));
  assert.equal(teacher.file, join(runDir, 'teacher', 'model.onnx'));
  assert.ok(student.max_abs_difference <= 1e-4 && teacher.max_abs_difference <= 1e-4);
  const ops = (f: string) => onnx.ModelProto.decode(readFileSync(f)).graph!.node!.map((n) => n.opType);
  assert.ok(
    ops(teacher.file).includes('Add') && !ops(student.file).includes('Add'),
    'the teacher sums its shortcuts, the plain student has none',
  );
  await assert.rejects(
    exportOnnx(join(runDir, 'model'), { batch: 4, tolerance: 1e-4, teacher: true }, () => {}),
    /--teacher takes the run folder itself/,
  );
});
