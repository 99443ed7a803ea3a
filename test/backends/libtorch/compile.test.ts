import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { epsilonResnet } from '../../../src/components/model/epsilon-resnet.js';
import { preactResnet } from '../../../src/components/model/preact-resnet.js';
import { preactResnetImagenet } from '../../../src/components/model/preact-resnet-imagenet.js';
import { torchResnet } from '../../../src/components/model/torch-resnet.js';
import { crossEntropy } from '../../../src/components/loss/cross-entropy.js';
import { momentum } from '../../../src/components/optimizer/momentum.js';
import { adam } from '../../../src/components/optimizer/adam.js';
import { CompiledStep } from '../../../src/backends/libtorch/compile.js';
import { stepFor, type StepBatch, type Stepper } from '../../../src/train/step.js';
import { tf } from '../../../src/backends/tfjs.js';
import type { BuildContext } from '../../../src/registry/component.js';
import type { Model, NamedVariable } from '../../../src/models/types.js';
import type { Loss, Optimizer } from '../../../src/train/types.js';
import { loadAddon } from '../../../src/backends/libtorch/addon.js';
import { skip as noAddon } from './helpers.js';

const skip =
  noAddon ||
  (typeof loadAddon().addon?.captureBegin !== 'function' &&
    'the libtorch addon predates step capture: rebuild it (node native/install.mjs)');
if (!skip) await tf.setBackend('libtorch');

interface Parts {
  model: Model;
  loss: Loss;
  optimizer: Optimizer;
  trainable: NamedVariable[];
}

/** A network and how to make a fresh optimizer for it: built once, trained twice from the same initial weights. */
interface Setup {
  model: Model;
  loss: Loss;
  optimizer: () => Promise<Optimizer> | Optimizer;
}

/** One batch of the run: its size, and the learning rate its step uses. */
interface Batch {
  n: number;
  lr: number;
}

/** Everything a run leaves: each step's readings, then every variable and optimizer slot, as exact bytes. */
interface Trace {
  readings: Record<string, number[]>[];
  state: Map<string, Buffer>;
  described: string[];
}

/** Between steps: a callback's change (ε, a new trainable set) the step must pick up. */
type Mode = 'auto' | 'off';
type Between = (i: number, parts: Parts, step: Stepper, mode: Mode) => Stepper | void;

const ctx = (hw: number): BuildContext => ({
  tf,
  seed: 11,
  configDir: '.',
  facts: { inputShape: [hw, hw, 3], numClasses: 10 },
  log: () => {},
});

/** Seeded random pixels and labels, as the input pipeline hands a batch over. */
function hostBatch(n: number, hw: number, seed: number): StepBatch {
  let s = seed;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return {
    x: Float32Array.from({ length: n * hw * hw * 3 }, () => 2 * next() - 1),
    y: Int32Array.from({ length: n }, () => Math.floor(10 * next())),
    shape: [n, hw, hw, 3],
  };
}

const bytes = (t: tf.Tensor) => {
  const values = t.dataSync() as Float32Array;
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
};

/** Trains the network from its initial weights on the same batches with `train.compile` off or auto, and records it. */
async function trace(
  setup: Setup,
  initial: tf.Tensor[],
  hw: number,
  batches: Batch[],
  mode: Mode,
  between?: Between,
): Promise<Trace> {
  setup.model.variables.forEach((v, i) => v.variable.assign(initial[i]));
  const parts: Parts = {
    model: setup.model,
    loss: setup.loss,
    optimizer: await setup.optimizer(),
    trainable: setup.model.variables.filter((v) => v.trainable),
  };
  let step = stepFor(tf, parts, parts.trainable, mode, () => {});
  const out: Trace = { readings: [], state: new Map(), described: [] };
  for (const [i, b] of batches.entries()) {
    const next = between?.(i, parts, step, mode);
    if (next) step = next;
    const r = step.run(hostBatch(b.n, hw, 100 + i), b.lr, i);
    out.readings.push(Object.fromEntries(Object.entries(r).map(([k, t]) => [k, Array.from(t.dataSync())])));
    out.described.push(step.describe());
    tf.dispose(Object.values(r));
  }
  for (const v of parts.model.variables) out.state.set(`model/${v.name}`, bytes(v.variable));
  for (const [k, v] of Object.entries(parts.optimizer.slots())) out.state.set(`optimizer/${k}`, bytes(v));
  step.dispose();
  parts.optimizer.dispose();
  return out;
}

/** N replayed steps leave exactly the weights, optimizer state and readings of N eager steps. */
async function assertReplayEqualsEager(setup: Setup, hw: number, batches: Batch[], between?: Between): Promise<Trace> {
  await tf.setBackend('libtorch');
  const initial = setup.model.variables.map((v) => tf.clone(v.variable));
  const eager = await trace(setup, initial, hw, batches, 'off', between);
  const compiled = await trace(setup, initial, hw, batches, 'auto', between);
  tf.dispose(initial);
  setup.model.dispose();
  assert.ok(
    compiled.described.some((d) => d.startsWith('compiled')),
    compiled.described.join('; '),
  );
  assert.deepEqual(compiled.readings, eager.readings);
  assert.deepEqual([...compiled.state.keys()].sort(), [...eager.state.keys()].sort());
  for (const [name, values] of eager.state) assert.ok(values.equals(compiled.state.get(name)!), `${name} differs`);
  return compiled;
}

async function setup(
  hw: number,
  model: Promise<Model> | Model,
  optimizer: () => Promise<Optimizer> | Optimizer,
): Promise<Setup> {
  return {
    model: await model,
    loss: await crossEntropy.build(Value.Default(crossEntropy.params, {}) as never, ctx(hw)),
    optimizer,
  };
}

const sgd =
  (hw: number, nesterov = false) =>
  () =>
    momentum.build({ momentum: 0.9, nesterov, weight_decay: 5e-4 }, ctx(hw));

// lr changes every step (a cosine schedule per step, an adaptive reset); the last batch is a partial one.
const batches: Batch[] = [0.1, 0.1, 0.08, 0.05, 0.1, 0.02].map((lr, i) => ({ n: i === 5 ? 3 : 4, lr }));

test(
  'preact-resnet with momentum: replayed steps equal eager steps bit for bit (lr per step, partial last batch)',
  { skip },
  async () => {
    const net = await setup(
      8,
      preactResnet.build(Value.Default(preactResnet.params, { depth: 8 }) as never, ctx(8)),
      sgd(8),
    );
    const compiled = await assertReplayEqualsEager(net, 8, batches);
    // Step 1 creates the momentum slots, step 2 is captured, then replays; the partial batch gets its own capture.
    assert.match(compiled.described[3], /^compiled/);
  },
);

test(
  'a weight-decay schedule over global steps: each replay decays with the coefficient of its own step, as eager',
  { skip },
  async () => {
    // Halved every 2 global steps: a coefficient captured at step 1 and replayed as a constant would differ from step 2 on.
    const decaying = () =>
      momentum.build(
        { momentum: 0.9, nesterov: false, weight_decay: { initial: 0.05, decay_steps: 2, decay_rate: 0.5 } },
        ctx(8),
      );
    const net = await setup(
      8,
      preactResnet.build(Value.Default(preactResnet.params, { depth: 8 }) as never, ctx(8)),
      decaying,
    );
    const compiled = await assertReplayEqualsEager(net, 8, batches);
    assert.match(compiled.described[4], /^compiled/);
  },
);

test(
  'epsilon-resnet (gates, side head) with Adam: an ε change between steps is picked up, replay equals eager',
  { skip },
  async () => {
    const opt = () =>
      adam.build({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weight_decay: 1e-4, decoupled: false }, ctx(8));
    const net = await setup(
      8,
      epsilonResnet.build(Value.Default(epsilonResnet.params, { depth: 8, epsilon: 0.05 }) as never, ctx(8)),
      opt,
    );
    const compiled = await assertReplayEqualsEager(net, 8, batches, (i, p, step) => {
      if (i === 0) p.model.epsilon!.assign(tf.scalar(0.05));
      if (i === 3) p.model.epsilon!.assign(tf.scalar(0.5));
      // The loop's epoch start: callbacks ran, the step is captured anew.
      if (i === 4) step.invalidate();
    });
    assert.ok(Object.keys(compiled.readings[0]).some((k) => k.endsWith('/gate')));
  },
);

test('torch-resnet and its plain twin with Nesterov momentum: replay equals eager', { skip }, async () => {
  for (const plain of [false, true]) {
    await assertReplayEqualsEager(
      await setup(8, torchResnet.build({ variant: 'resnet18', plain }, ctx(8)), sgd(8, true)),
      8,
      batches.slice(0, 4),
    );
  }
});

test('ImageNet pre-activation bottleneck ResNet-50: replay equals eager', { skip }, async () => {
  const net = await setup(
    32,
    preactResnetImagenet.build(Value.Default(preactResnetImagenet.params, { depth: 50 }) as never, ctx(32)),
    sgd(32),
  );
  await assertReplayEqualsEager(
    net,
    32,
    [0.1, 0.1, 0.05].map((lr) => ({ n: 2, lr })),
  );
});

test(
  'a new trainable set (the next distillation stage) gets its own capture; replay equals eager',
  { skip },
  async () => {
    const net = await setup(8, torchResnet.build({ variant: 'resnet18', plain: true }, ctx(8)), sgd(8));
    await assertReplayEqualsEager(net, 8, batches.slice(0, 5), (i, p, step, mode) => {
      if (i !== 2) return;
      step.dispose();
      const names = new Set(p.model.stages!.layer3.concat(p.model.stages!.fc));
      return stepFor(
        tf,
        p,
        p.trainable.filter((v) => names.has(v.name)),
        mode,
        () => {},
      );
    });
  },
);

test(
  'a step with a kernel that has no native form is declined with its reason and runs eagerly',
  { skip },
  async () => {
    await tf.setBackend('libtorch');
    const w = tf.variable(tf.ones([3, 3]));
    const lines: string[] = [];
    const step = new CompiledStep(
      tf,
      ([x]) => {
        const y = tf.einsum('ij,jk->ik', x, w);
        w.assign(tf.add(w, y));
        return { y };
      },
      (line) => lines.push(line),
    );
    const x = tf.eye(3);
    for (let i = 0; i < 3; i++) tf.dispose(step.run([x]));
    assert.deepEqual(Array.from(w.dataSync()), Array(9).fill(8));
    assert.match(lines.join('\n'), /declined .*kernel Einsum has no native form/);
    assert.equal(step.status.path, 'eager');
    tf.dispose([w, x]);
  },
);

test(
  'a step that reads values on the host is declined; one that does not replays and updates its variable in place',
  { skip },
  async () => {
    await tf.setBackend('libtorch');
    const w = tf.variable(tf.zeros([2]));
    const lines: string[] = [];
    const reads = new CompiledStep(
      tf,
      ([x]) => {
        w.assign(tf.add(w, tf.mul(x, tf.scalar(tf.sum(x).dataSync()[0]))));
        return { w: tf.clone(w) };
      },
      (line) => lines.push(line),
    );
    const counts = new CompiledStep(
      tf,
      ([x]) => {
        w.assign(tf.add(w, x));
        return { total: tf.sum(w) };
      },
      (line) => lines.push(line),
    );
    const x = tf.ones([2]);
    tf.dispose(reads.run([x]));
    assert.match(lines.join('\n'), /declined .*copies tensor values to the host/);
    const totals = [0, 1, 2].map(() => {
      const { total } = counts.run([x]);
      const v = total.dataSync()[0];
      total.dispose();
      return v;
    });
    assert.equal(counts.status.path, 'replay');
    assert.deepEqual(totals, [6, 8, 10]);
    assert.deepEqual(Array.from(w.dataSync()), [5, 5]);
    tf.dispose([w, x]);
  },
);

test(
  'a run with train.compile auto, interrupted and resumed, ends exactly as an eager uninterrupted one (ε schedule, lr resets, partial batches)',
  { skip },
  async () => {
    const { tinyRun, trainConfig } = await import('../../helpers/tiny-run.js');
    const config = (compile: Mode) => `experiment: compiled
seed: 5
backend: libtorch
dataset: { type: synthetic, num_classes: 3, train_size: 20, test_size: 6, height: 8, width: 8 }
transforms: { train: [{ type: per-pixel-mean }, { type: flip }], test: [{ type: per-pixel-mean }] }
model: { type: epsilon-resnet, depth: 8, epsilon: 0.02 }
callbacks: [{ type: epsilon-schedule, values: [[0, 0.02], [2, 0.3]] }]
optimizer: { type: momentum, momentum: 0.9, weight_decay: 0.0002 }
schedule: { type: adaptive-on-discard, initial: [[0, 0.1], [2, 0.05]], after_discard: [[0, 0.08]], threshold: 0 }
loss: { type: cross-entropy }
train: { epochs: 3, batch_size: 8, eval_batch_size: 6, drop_remainder: false, compile: ${compile} }
`;
    const eager = tinyRun('eager', config('off'));
    assert.equal((await trainConfig(eager.file, eager.runDir)).code, 0);
    const compiled = tinyRun('compiled', config('auto'));
    const cut = await trainConfig(compiled.file, compiled.runDir, (line, stop) => {
      if (line.includes('epoch 2/3 step 2/3')) stop();
    });
    assert.equal(cut.code, 130);
    const resumed = await trainConfig(compiled.file, compiled.runDir);
    assert.equal(resumed.code, 0);
    assert.ok(
      resumed.lines.some((l) => l.includes('training step: compiled')),
      resumed.lines.join('\n'),
    );
    const env = (dir: string) => JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8')).train_step.train as string;
    assert.match(env(compiled.runDir), /^compiled/);
    assert.match(env(eager.runDir), /^eager \(train.compile is off\)/);
    const metrics = (dir: string) =>
      readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, number>);
    const [a, b] = [metrics(eager.runDir), metrics(compiled.runDir)];
    assert.equal(b.length, 3);
    assert.ok(new Set(a.map((m) => m.lr)).size > 1, 'the learning rate changed during the run');
    for (const key of Object.keys(a[0]).filter((k) => !/seconds|per_sec|live_tensors/.test(k)))
      assert.deepEqual(
        b.map((m) => m[key]),
        a.map((m) => m[key]),
        key,
      );
    assert.ok(
      readFileSync(join(eager.runDir, 'model', 'weights.bin')).equals(
        readFileSync(join(compiled.runDir, 'model', 'weights.bin')),
      ),
      'final weights are bit-identical',
    );
  },
);

test(
  'a captured inference forward pass gives the eager logits bit for bit; timeInference uses it',
  { skip },
  async () => {
    const { timeInference } = await import('../../../src/train/inference-timing.js');
    const model = await preactResnet.build(Value.Default(preactResnet.params, { depth: 8 }) as never, ctx(8));
    const x = tf.randomNormal([5, 8, 8, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const eager = tf.tidy(() => model.apply(x, { training: false }).logits);
    const forward = new CompiledStep(
      tf,
      ([input]) => ({ logits: model.apply(input as tf.Tensor4D, { training: false }).logits }),
      () => {},
    );
    for (let i = 0; i < 3; i++) {
      const { logits } = forward.run([x]);
      assert.ok(bytes(logits).equals(bytes(eager)), `pass ${i + 1}`);
      logits.dispose();
    }
    assert.equal(forward.status.path, 'replay');
    const timing = await timeInference(tf, model, 4, 2, 'auto');
    assert.ok(timing.images_per_sec > 0);
    forward.dispose();
    tf.dispose([x, eager]);
    model.dispose();
  },
);
