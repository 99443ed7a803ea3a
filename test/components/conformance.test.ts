import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backends/select.js';
import { PNG } from 'pngjs';
import { createAjv } from '../../src/registry/ajv.js';
import { branchSchema } from '../../src/registry/registry.js';
import { builtinRegistry as registry } from '../../src/components/index.js';
import { walkComponents } from '../../src/registry/conformance.js';
import type { BuildContext, Component, Kind } from '../../src/registry/component.js';
import type { Callback, Evaluator, Loss, Optimizer, Schedule } from '../../src/train/types.js';
import type { DatasetSplits, Transform } from '../../src/data/types.js';
import type { Model } from '../../src/models/types.js';
import { cifarRecords, svhnMat } from '../helpers/data-files.js';
import { tempDir } from '../helpers/tmp.js';
import { projectRoot } from '../../src/util/paths.js';

/** Files in each dataset's real format, written here, so every dataset component builds from disk. */
function datasetFixtures(dir: string): Record<string, Record<string, unknown>> {
  const cifar10 = join(dir, 'cifar10');
  mkdirSync(cifar10);
  for (const f of ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'])
    writeFileSync(join(cifar10, `${f}.bin`), cifarRecords([[1], [2]]).bytes);
  const cifar100 = join(dir, 'cifar100');
  mkdirSync(cifar100);
  for (const f of ['train', 'test'])
    writeFileSync(
      join(cifar100, `${f}.bin`),
      cifarRecords([
        [1, 11],
        [2, 22],
      ]).bytes,
    );
  const svhn = join(dir, 'svhn');
  mkdirSync(svhn);
  for (const f of ['train', 'test', 'extra'])
    writeFileSync(
      join(svhn, `${f}_32x32.mat`),
      svhnMat([1, 10], () => 7, { compress: true, labelStorage: 'double' }),
    );
  const folder = join(dir, 'images');
  for (const split of ['train', 'val'])
    for (const cls of ['cat', 'dog']) {
      mkdirSync(join(folder, split, cls), { recursive: true });
      const png = new PNG({ width: 12, height: 10 });
      png.data.fill(128);
      writeFileSync(join(folder, split, cls, 'a.png'), PNG.sync.write(png));
    }
  const fmnist = join(projectRoot(), 'data', 'fashion-mnist-subset');
  return {
    'fashion-mnist': { path: fmnist, subset: { train: { first: 20 }, test: { first: 10 } } },
    mnist: { path: fmnist, subset: { train: { first: 20 }, test: { first: 10 } } },
    cifar10: { path: cifar10, download: false },
    cifar100: { path: cifar100, download: false },
    svhn: { path: svhn, download: false },
    'image-folder': { path: folder },
    synthetic: { train_size: 8, test_size: 4 },
  };
}

/** Parameters for components whose defaults do not make a small, complete instance. */
const PARAMS: Record<string, Record<string, unknown>> = {
  'model/epsilon-resnet': { depth: 8 },
  'model/preact-resnet-imagenet': { depth: 18 },
  'schedule/piecewise': {
    values: [
      [0, 0.1],
      [2, 0.01],
    ],
  },
  'schedule/adaptive-on-discard': { initial: [[0, 0.1]], after_discard: [[0, 0.1]] },
  'callback/epsilon-schedule': {
    values: [
      [0, 0],
      [1, 2.5],
    ],
  },
  'distillation/progressive': {
    teacher: { train: true },
    stages: [
      {
        name: 's1',
        train: ['layer1'],
        loss: [{ kind: 'l1', at: 'layer1' }],
        optimizer: { type: 'momentum' },
        schedule: { type: 'step' },
        epochs: 1,
      },
    ],
  },
};

/** Input size per model, where the default is too small for its downsampling. */
const INPUT: Record<string, [number, number, number]> = { 'preact-resnet-imagenet': [32, 32, 3] };

function completeParams(c: Component, extra: Record<string, unknown>): Record<string, unknown> {
  const validate = createAjv().compile({ $defs: registry.schema().$defs, ...branchSchema(c) });
  const params = { type: c.type, ...structuredClone(extra) };
  assert.ok(validate(params), `${c.kind}/${c.type}: ${JSON.stringify(validate.errors)}`);
  const { type: _t, ...rest } = params;
  return rest;
}

async function exercise(kind: Kind, c: Component, params: Record<string, unknown>, ctx: BuildContext): Promise<void> {
  const built = await c.build(params as never, ctx);
  switch (kind) {
    case 'dataset': {
      const d = built as DatasetSplits;
      assert.ok(d.train.size > 0 && d.test.size > 0 && d.numClasses >= 2);
      const img = d.train.image(0);
      assert.equal(img.data.length, img.height * img.width * img.channels);
      const known = c.imageShape?.(params as never);
      if (known) assert.deepEqual(known.shape, [img.height, img.width, img.channels], `${c.type} imageShape`);
      return;
    }
    case 'transform': {
      const t = built as Transform;
      const size = c.type === 'center-crop' || c.type === 'resize' ? 256 : 32;
      const fitOn = (await registry.get('dataset', 'synthetic').build(
        {
          num_classes: 2,
          train_size: 4,
          test_size: 2,
          height: size,
          width: size,
          channels: 3,
          noise: 5,
          subset: {},
        } as never,
        ctx,
      )) as DatasetSplits;
      t.fit?.(fitOn.train);
      const shape = t.outputShape([size, size, 3]);
      const out = t.apply(
        { data: new Float32Array(size * size * 3).fill(100), height: size, width: size, channels: 3 },
        () => 0.3,
      );
      assert.deepEqual([out.height, out.width, out.channels], shape, `${c.type} output shape`);
      // A config's model-input check sees through every built-in transform, with the shape the built one gives
      assert.ok(c.outputShape, `${c.type} states its output shape without being built`);
      for (const input of [
        [size, size, 3],
        [size + 7, size + 3, 1],
      ] as [number, number, number][])
        assert.deepEqual(c.outputShape(params as never, input), t.outputShape(input), `${c.type} static output shape`);
      return;
    }
    case 'model': {
      const m = built as Model;
      const x = tf.randomNormal([2, ...m.inputShape]) as tf.Tensor4D;
      const trainable = m.variables.filter((v) => v.trainable).map((v) => v.variable);
      const { value, grads } = tf.variableGrads(() => {
        const out = m.apply(x, { training: true, updateStats: true });
        return tf.addN(
          [out.logits, ...out.auxLogits.map((a) => a.logits)].map((l) => tf.mean(tf.square(l))),
        ) as tf.Scalar;
      }, trainable);
      assert.ok(Number.isFinite(value.dataSync()[0]));
      assert.equal(Object.keys(grads).length, trainable.length);
      assert.ok(m.flops() > 0);
      tf.dispose([x, value, ...Object.values(grads)]);
      m.dispose();
      return;
    }
    case 'optimizer': {
      const v = tf.variable(tf.ones([3]));
      (built as Optimizer).step(
        [{ name: 'w/W', variable: v, decay: true, trainable: true }],
        { 'w/W': tf.ones([3]) },
        0.1,
        0,
      );
      assert.ok(v.dataSync()[0] < 1, 'a step moves the weight against its gradient');
      (built as Optimizer).dispose();
      return;
    }
    case 'schedule': {
      const s = built as Schedule;
      assert.ok(Number.isFinite(s.valueFor(0)));
      s.observe?.(0, { discarded_cnt: 0 });
      assert.ok(Number.isFinite(s.valueFor(1)));
      return;
    }
    case 'loss': {
      const logits = tf.tensor2d([
        [2, 0, 0],
        [0, 2, 0],
      ]);
      const { total } = (built as Loss).compute(
        { logits, taps: {}, auxLogits: [], gates: [] },
        tf.tensor1d([0, 1], 'int32'),
        3,
      );
      assert.ok(total.dataSync()[0] > 0);
      return;
    }
    case 'callback': {
      const epsilon = tf.variable(tf.scalar(1));
      (built as Callback).onEpochStart?.({ tf, model: { epsilon } as unknown as Model, epoch: 1, log: () => {} });
      assert.equal(epsilon.dataSync()[0], 2.5);
      return;
    }
    case 'distillation':
      assert.ok((built as { stages: unknown[] }).stages.length > 0);
      return;
    case 'evaluator': {
      const e = built as Evaluator;
      assert.deepEqual([e.name, e.every], ['test', 2], 'name and cadence from the facts');
      const synthetic = registry.get('dataset', 'synthetic');
      const sizes = { num_classes: 3, train_size: 4, test_size: 5, height: 8, width: 8 };
      const dataset = (await synthetic.build(completeParams(synthetic, sizes) as never, ctx)) as DatasetSplits;
      // A model that always predicts class 0: its error is the share of other labels.
      const model = {
        numClasses: 3,
        apply: (x: tf.Tensor4D) => ({
          logits: tf.tile(tf.tensor2d([[1, 0, 0]]), [x.shape[0], 1]),
          taps: {},
          auxLogits: [],
          gates: [],
        }),
      } as unknown as Model;
      const crossEntropy = registry.get('loss', 'cross-entropy');
      const loss = (await crossEntropy.build(completeParams(crossEntropy, {}) as never, ctx)) as Loss;
      const r = await e.run({ tf, model, loss, dataset, transforms: [] });
      assert.equal(r.metrics.test_error, dataset.test.labels.filter((y) => y !== 0).length / 5);
      assert.equal(r.images, 5);
      return;
    }
  }
}

test('every registered component builds from validated parameters and runs one step on tiny input', async () => {
  await selectBackend('cpu');
  const dir = tempDir('conformance');
  const fixtures = datasetFixtures(dir);
  const walked = walkComponents(registry);
  assert.ok(walked.length >= 30, `only ${walked.length} components registered`);
  for (const { component: c, problems } of walked) {
    assert.deepEqual(problems, [], `${c.kind}/${c.type}`);
    const extra = c.kind === 'dataset' ? fixtures[c.type] : (PARAMS[`${c.kind}/${c.type}`] ?? {});
    assert.ok(extra, `dataset ${c.type} has no fixture in this test: add files in its format`);
    const evaluation = { name: 'test', every: 2, batchSize: 3, compile: 'off' };
    const facts = { inputShape: INPUT[c.type] ?? [8, 8, 3], numClasses: 3, epochs: 4, evaluation };
    const ctx: BuildContext = { tf, seed: 1, configDir: dir, facts, log: () => {} };
    await exercise(c.kind, c, completeParams(c, extra), ctx);
  }
});
