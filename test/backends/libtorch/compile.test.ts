import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { epsilonResnet } from '../../../src/components/model/epsilon-resnet.js';
import { preactResnet } from '../../../src/components/model/preact-resnet.js';
import { preactResnetImagenet } from '../../../src/components/model/preact-resnet-imagenet.js';
import { torchResnet } from '../../../src/components/model/torch-resnet.js';
import { crossEntropy } from '../../../src/components/loss/cross-entropy.js';
import { momentum } from '../../../src/components/optimizer/momentum.js';
import { adam } from '../../../src/components/optimizer/adam.js';
import { CompiledStep } from '../../../src/backends/libtorch/compile.js';
import { makeTrainStep, type CompileMode, type TrainStep } from '../../../src/train/step.js';
import { tf } from '../../../src/backends/tfjs.js';
import type { BuildContext } from '../../../src/registry/component.js';
import type { Model, NamedVariable } from '../../../src/models/types.js';
import type { Loss, Optimizer } from '../../../src/train/types.js';
import { loadAddon } from '../../../src/backends/libtorch/addon.js';
import { skip as noAddon } from './helpers.js';

const skip = noAddon || (typeof loadAddon().addon?.captureBegin !== 'function' && 'the libtorch addon predates step capture: rebuild it (node native/install.mjs)');
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
type Between = (i: number, parts: Parts, step: TrainStep, mode: CompileMode) => TrainStep | void;

const ctx = (hw: number): BuildContext => ({ tf, seed: 11, configDir: '.', facts: { inputShape: [hw, hw, 3], numClasses: 10 }, log: () => {} });

const bytes = (t: tf.Tensor) => {
  const values = t.dataSync() as Float32Array;
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
};

/** Trains the network from its initial weights on the same batches with `train.compile` off or auto, and records it. */
async function trace(setup: Setup, initial: tf.Tensor[], hw: number, batches: Batch[], mode: CompileMode, between?: Between): Promise<Trace> {
  setup.model.variables.forEach((v, i) => v.variable.assign(initial[i]));
  const parts: Parts = { model: setup.model, loss: setup.loss, optimizer: await setup.optimizer(), trainable: setup.model.variables.filter((v) => v.trainable) };
  let step = makeTrainStep({ tf, ...parts }, mode, () => {});
  const out: Trace = { readings: [], state: new Map(), described: [] };
  for (const [i, b] of batches.entries()) {
    const next = between?.(i, parts, step, mode);
    if (next) step = next;
    const x = tf.randomNormal([b.n, hw, hw, 3], 0, 1, 'float32', 100 + i) as tf.Tensor4D;
    const y = tf.tensor1d(Array.from({ length: b.n }, (_, k) => (k * 7 + i) % 10), 'int32');
    const r = step(x, y, b.lr);
    out.readings.push(Object.fromEntries(Object.entries(r).map(([k, t]) => [k, Array.from(t.dataSync())])));
    out.described.push(step.describe());
    tf.dispose([x, y, ...Object.values(r)]);
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
  assert.ok(compiled.described.some((d) => d.startsWith('compiled')), compiled.described.join('; '));
  assert.deepEqual(compiled.readings, eager.readings);
  assert.deepEqual([...compiled.state.keys()].sort(), [...eager.state.keys()].sort());
  for (const [name, values] of eager.state) assert.ok(values.equals(compiled.state.get(name)!), `${name} differs`);
  return compiled;
}

async function setup(hw: number, model: Promise<Model> | Model, optimizer: () => Promise<Optimizer> | Optimizer): Promise<Setup> {
  return { model: await model, loss: await crossEntropy.build(Value.Default(crossEntropy.params, {}) as never, ctx(hw)), optimizer };
}

const sgd = (hw: number, nesterov = false) => () => momentum.build({ momentum: 0.9, nesterov, weight_decay: 5e-4 }, ctx(hw));

// lr changes every step (a cosine schedule per step, an adaptive reset); the last batch is a partial one.
const batches: Batch[] = [0.1, 0.1, 0.08, 0.05, 0.1, 0.02].map((lr, i) => ({ n: i === 5 ? 3 : 4, lr }));

test('preact-resnet with momentum: replayed steps equal eager steps bit for bit (lr per step, partial last batch)', { skip }, async () => {
  const net = await setup(8, preactResnet.build(Value.Default(preactResnet.params, { depth: 8 }) as never, ctx(8)), sgd(8));
  const compiled = await assertReplayEqualsEager(net, 8, batches);
  // Step 1 creates the momentum slots, step 2 is captured, then replays; the partial batch gets its own capture.
  assert.match(compiled.described[3], /^compiled/);
});

test('epsilon-resnet (gates, side head) with Adam: an ε change between steps is picked up, replay equals eager', { skip }, async () => {
  const opt = () => adam.build({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weight_decay: 1e-4, decoupled: false }, ctx(8));
  const net = await setup(8, epsilonResnet.build(Value.Default(epsilonResnet.params, { depth: 8, epsilon: 0.05 }) as never, ctx(8)), opt);
  const compiled = await assertReplayEqualsEager(net, 8, batches, (i, p) => {
    if (i === 0) p.model.epsilon!.assign(tf.scalar(0.05));
    if (i === 3) p.model.epsilon!.assign(tf.scalar(0.5));
  });
  assert.ok(compiled.readings[0].gate.length > 0);
});

test('torch-resnet and its plain twin with Nesterov momentum: replay equals eager', { skip }, async () => {
  for (const plain of [false, true]) {
    await assertReplayEqualsEager(await setup(8, torchResnet.build({ variant: 'resnet18', plain }, ctx(8)), sgd(8, true)), 8, batches.slice(0, 4));
  }
});

test('ImageNet pre-activation bottleneck ResNet-50: replay equals eager', { skip }, async () => {
  const net = await setup(32, preactResnetImagenet.build(Value.Default(preactResnetImagenet.params, { depth: 50 }) as never, ctx(32)), sgd(32));
  await assertReplayEqualsEager(net, 32, [0.1, 0.1, 0.05].map((lr) => ({ n: 2, lr })));
});

test('a new trainable set (the next distillation stage) gets its own capture; replay equals eager', { skip }, async () => {
  const net = await setup(8, torchResnet.build({ variant: 'resnet18', plain: true }, ctx(8)), sgd(8));
  await assertReplayEqualsEager(net, 8, batches.slice(0, 5), (i, p, step, mode) => {
    if (i !== 2) return;
    step.dispose();
    const names = new Set(p.model.stages!.layer3.concat(p.model.stages!.fc));
    return makeTrainStep({ tf, ...p, trainable: p.trainable.filter((v) => names.has(v.name)) }, mode, () => {});
  });
});

test('a step with a kernel that has no native form is declined with its reason and runs eagerly', { skip }, async () => {
  await tf.setBackend('libtorch');
  const w = tf.variable(tf.ones([3, 3]));
  const lines: string[] = [];
  const step = new CompiledStep(tf, ([x]) => {
    const y = tf.einsum('ij,jk->ik', x, w);
    w.assign(tf.add(w, y));
    return { y };
  }, (line) => lines.push(line));
  const x = tf.eye(3);
  for (let i = 0; i < 3; i++) tf.dispose(step.run([x]));
  assert.deepEqual(Array.from(w.dataSync()), Array(9).fill(8));
  assert.match(lines.join('\n'), /declined .*kernel Einsum has no native form/);
  assert.equal(step.status.path, 'eager');
  tf.dispose([w, x]);
});

test('a step that reads values on the host is declined; one that does not replays and updates its variable in place', { skip }, async () => {
  await tf.setBackend('libtorch');
  const w = tf.variable(tf.zeros([2]));
  const lines: string[] = [];
  const reads = new CompiledStep(tf, ([x]) => {
    w.assign(tf.add(w, tf.mul(x, tf.scalar(tf.sum(x).dataSync()[0]))));
    return { w: tf.clone(w) };
  }, (line) => lines.push(line));
  const counts = new CompiledStep(tf, ([x]) => {
    w.assign(tf.add(w, x));
    return { total: tf.sum(w) };
  }, (line) => lines.push(line));
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
});
