import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadExperiment } from '../../src/config/load.js';
import { ConfigError } from '../../src/util/errors.js';
import { loadLatestCheckpoint } from '../../src/run/checkpoint.js';
import { trainConfig } from '../helpers/tiny-run.js';
import { tempDir } from '../helpers/tmp.js';
import { skip as noLibtorch } from '../backends/libtorch/helpers.js';

function write(dir: string, stage1Train = 'layer1'): string {
  const file = join(dir, 'nores.yaml');
  writeFileSync(
    file,
    `experiment: nores
seed: 4
backend: cpu
dataset: { type: synthetic, num_classes: 3, train_size: 16, test_size: 8, height: 8, width: 8 }
model: { type: torch-resnet, variant: resnet20 }
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
  stages:
    - name: stage1
      train: [${stage1Train}]
      loss: [{ kind: l1, at: layer1 }]
      optimizer: { type: momentum }
      schedule: { type: step, initial: 0.1 }
      epochs: 1
    - name: finetune
      train: [all]
      loss: [{ kind: cross-entropy }, { kind: kl, temperature: 2, weight: 0.5 }]
      optimizer: { type: momentum }
      schedule: { type: step, initial: 0.01 }
      epochs: 1
`,
  );
  return file;
}

test('distillation trains the teacher, then each stage only on its part, and records the teacher-vs-student comparison', async () => {
  const dir = tempDir('distill');
  const file = write(dir);
  const runDir = join(dir, 'run');
  assert.equal((await trainConfig(file, runDir)).code, 0);
  const teacher = loadLatestCheckpoint(join(runDir, 'teacher'))!;
  const stage1 = loadLatestCheckpoint(join(runDir, 'stages', 'stage1'))!;
  const bytes = (d: Float32Array) => Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  const same = (name: string) =>
    bytes(teacher.values.get(`model/${name}`)!.data).equals(bytes(stage1.values.get(`model/${name}`)!.data));
  assert.ok(
    same('layer2.0/conv1/W') && same('layer3.2/conv2/W') && same('fc/W'),
    'stage 1 leaves the other parts as copied from the teacher',
  );
  assert.ok(!same('layer1.0/conv1/W'), 'stage 1 trains layer1');
  assert.equal(stage1.values.has('model/layer2.0/downsample.0/W'), false, 'the plain student has no downsample branch');
  const result = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8'));
  assert.equal(result.status, 'done');
  assert.ok(
    result.timings.train_images_per_sec > 0,
    'the result records the real training speed over teacher and stages',
  );
  assert.ok(result.global_step > 0);
  const d = result.distillation;
  assert.ok(d.student.params < d.teacher.params, 'the student drops the unused downsample branches');
  assert.ok(d.student.flops < d.teacher.flops);
  assert.ok(d.teacher.inference.median_seconds > 0 && d.student.inference.median_seconds > 0);
  assert.equal(d.inference_time_ratio, d.student.inference.median_seconds / d.teacher.inference.median_seconds);
  for (const who of [d.teacher, d.student])
    assert.ok(
      who.onnxruntime.latency_seconds > 0 && who.onnxruntime.batch === 128 && who.onnxruntime.images_per_sec > 0,
      'both are timed in onnxruntime',
    );
  assert.equal(
    d.onnxruntime_latency_ratio,
    d.student.onnxruntime.latency_seconds / d.teacher.onnxruntime.latency_seconds,
  );
  assert.deepEqual(Object.keys(d.stages), ['stage1', 'finetune']);
  const lines = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => l.stage),
    ['teacher', 'stage1', 'finetune'],
  );
});

test('a stage that trains a part the student does not have is a config error at its line', async () => {
  const dir = tempDir('distill-bad');
  const file = write(dir, 'layer4');
  await assert.rejects(loadExperiment(file), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    const d = e.diagnostics[0];
    assert.equal(d.pos?.line, 18);
    assert.match(d.message, /names no part of torch-resnet.*'layer4'/);
    return true;
  });
});

test("a stage's own schedule is checked like a top-level one: its epochs must increase", async () => {
  const dir = tempDir('distill-epochs');
  const file = write(dir);
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace(
      'schedule: { type: step, initial: 0.1 }',
      'schedule: { type: piecewise, values: [[0, 0.1], [0, 0.01]] }',
    ),
  );
  await assert.rejects(loadExperiment(file), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(
      e.diagnostics[0].message,
      /^distillation\.stages\[0\]\.schedule\.values\[1\]\[0\] must be greater than the epoch before it/,
    );
    return true;
  });
});

test(
  'on libtorch, distillation with train.compile auto replays every stage and evaluation and ends with the eager weights and test losses bit for bit',
  { skip: noLibtorch },
  async () => {
    const dir = tempDir('distill-compiled');
    // Test batches of 4: the first of each evaluation is captured, the second replayed.
    const text = readFileSync(write(dir), 'utf8')
      .replace('backend: cpu', 'backend: libtorch')
      .replace('eval_batch_size: 8', 'eval_batch_size: 4');
    const weights = async (compile: 'auto' | 'off') => {
      const file = join(dir, `${compile}.yaml`);
      writeFileSync(file, text.replace('train: { epochs: 1,', `train: { compile: ${compile}, epochs: 1,`));
      const runDir = join(dir, compile);
      assert.equal((await trainConfig(file, runDir)).code, 0);
      const env = JSON.parse(readFileSync(join(runDir, 'env.json'), 'utf8')) as { train_step: Record<string, string> };
      const parts = ['teacher', join('stages', 'stage1'), join('stages', 'finetune')].map(
        (d) => loadLatestCheckpoint(join(runDir, d))!,
      );
      const result = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8'));
      return {
        env,
        result,
        values: parts.flatMap((c) =>
          [...c.values].map(([k, v]) => [k, Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength)] as const),
        ),
      };
    };
    const eager = await weights('off');
    const compiled = await weights('auto');
    assert.deepEqual(Object.keys(compiled.env.train_step).sort(), ['finetune', 'stage1', 'teacher']);
    for (const [stage, described] of Object.entries(compiled.env.train_step))
      assert.match(described, /^compiled/, `${stage}: ${described}`);
    assert.equal(compiled.values.length, eager.values.length);
    compiled.values.forEach(([name, bytes], i) => assert.ok(bytes.equals(eager.values[i][1]), `${name} differs`));
    const losses = (r: {
      metrics: { test_loss: number };
      distillation: { stages: Record<string, { test_loss: number }> };
    }) => [r.metrics.test_loss, ...Object.values(r.distillation.stages).map((s) => s.test_loss)];
    assert.deepEqual(losses(compiled.result), losses(eager.result));
  },
);
