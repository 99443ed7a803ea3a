import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parameterCount } from '../../src/models/nn.js';
import { torchResnet } from '../../src/components/model/torch-resnet.js';
import { assignByName, variableMap } from '../../src/models/weights.js';
import { cpuContext, forwardPeakBytes, randomImages, tf, variable } from '../helpers/tiny-model.js';

/** torchvision BasicBlock ResNet with a 16-channel stem: conv weights + BN (γ, β) + option-B downsample + FC. */
function expectedParams(blocks: number[], classes: number, plain: boolean): number {
  let total = 27 * 16 + 32;
  let inCh = 16;
  blocks.forEach((count, s) => {
    const ch = 16 * 2 ** s;
    for (let i = 0; i < count; i++) {
      total += 9 * inCh * ch + 2 * ch + 9 * ch * ch + 2 * ch;
      if (inCh !== ch && !plain) total += inCh * ch + 2 * ch;
      inCh = ch;
    }
  });
  return total + 64 * classes + classes;
}

test('resnet20 on CIFAR-100 has the torchvision count (278,324); the plain twin lacks only the two downsample branches', async () => {
  const ctx = await cpuContext([28, 28, 3], 100);
  const teacher = await torchResnet.build({ variant: 'resnet20', plain: false }, ctx);
  const student = await torchResnet.build({ variant: 'resnet20', plain: true }, ctx);
  assert.equal(parameterCount(teacher.variables), 278_324);
  assert.equal(parameterCount(teacher.variables), expectedParams([3, 3, 3], 100, false));
  assert.equal(parameterCount(student.variables), expectedParams([3, 3, 3], 100, true));
  const sNames = student.variables.map((v) => v.name);
  const only = teacher.variables.map((v) => v.name).filter((n) => !sNames.includes(n));
  assert.deepEqual(only.sort(), [
    'layer2.0/downsample.0/W',
    'layer2.0/downsample.1/beta',
    'layer2.0/downsample.1/gamma',
    'layer2.0/downsample.1/mean',
    'layer2.0/downsample.1/variance',
    'layer3.0/downsample.0/W',
    'layer3.0/downsample.1/beta',
    'layer3.0/downsample.1/gamma',
    'layer3.0/downsample.1/mean',
    'layer3.0/downsample.1/variance',
  ]);
  assert.deepEqual(assignByName(student.variables, variableMap(teacher.variables)).sort(), only.sort());
  assert.deepEqual(variable(student, 'layer3.2/conv2/W').dataSync(), variable(teacher, 'layer3.2/conv2/W').dataSync());
  teacher.dispose();
  student.dispose();
});

test('FLOPs count convs and the FC at 28/14/7 resolution; the plain twin skips the downsample convs', async () => {
  const ctx = await cpuContext([28, 28, 3], 100);
  const teacher = await torchResnet.build({ variant: 'resnet18', plain: false }, ctx);
  const student = await torchResnet.build({ variant: 'resnet18', plain: true }, ctx);
  const [a, b, c] = [28 * 28, 14 * 14, 7 * 7];
  const body =
    a * 27 * 16 +
    4 * a * 9 * 16 * 16 +
    b * 9 * 16 * 32 +
    3 * b * 9 * 32 * 32 +
    c * 9 * 32 * 64 +
    3 * c * 9 * 64 * 64 +
    64 * 100;
  const downsample = b * 16 * 32 + c * 32 * 64;
  assert.equal(teacher.flops(), 2 * (body + downsample));
  assert.equal(student.flops(), 2 * body);
  teacher.dispose();
  student.dispose();
});

test('taps at stem, layer1..3 and stage variable groups for training one stage', async () => {
  const model = await torchResnet.build({ variant: 'resnet18', plain: false }, await cpuContext([28, 28, 3], 10));
  const out = model.apply(randomImages(2, [28, 28, 3]), { training: true });
  assert.deepEqual(model.tapNames, ['stem', 'layer1', 'layer2', 'layer3']);
  assert.deepEqual(Object.fromEntries(Object.entries(out.taps).map(([k, t]) => [k, t.shape])), {
    stem: [2, 28, 28, 16],
    layer1: [2, 28, 28, 16],
    layer2: [2, 14, 14, 32],
    layer3: [2, 7, 7, 64],
  });
  assert.deepEqual(out.logits.shape, [2, 10]);
  assert.deepEqual(Object.keys(model.stages!), ['stem', 'layer1', 'layer2', 'layer3', 'fc']);
  assert.deepEqual(model.stages!.stem, ['conv1/W', 'bn1/gamma', 'bn1/beta', 'bn1/mean', 'bn1/variance']);
  assert.ok(model.stages!.layer2.every((n) => n.startsWith('layer2.')));
  assert.equal(Object.values(model.stages!).flat().length, model.variables.length);
  model.dispose();
});

test('PyTorch initialisation: convs kaiming normal (fan_out), FC uniform ±1/sqrt(fan_in), BN 1 and 0', async () => {
  const model = await torchResnet.build({ variant: 'resnet20', plain: false }, await cpuContext([8, 8, 3], 100, 5));
  const w = Array.from(variable(model, 'layer3.1/conv1/W').dataSync());
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(std / Math.sqrt(2 / (9 * 64)) - 1) < 0.03, `std ${std}`);
  for (const name of ['fc/W', 'fc/b']) {
    const v = Array.from(variable(model, name).dataSync());
    assert.ok(
      v.every((x) => Math.abs(x) <= 1 / 8),
      name,
    );
    assert.ok(
      v.some((x) => Math.abs(x) > 0.1),
      `${name} spans its range`,
    );
  }
  assert.ok(
    variable(model, 'layer1.0/bn2/gamma')
      .dataSync()
      .every((x) => x === 1),
  );
  assert.ok(
    variable(model, 'layer1.0/bn2/beta')
      .dataSync()
      .every((x) => x === 0),
  );
  model.dispose();
});

test("the plain twin adds no identity: with every residual branch silenced its stages output zero, the teacher's do not", async () => {
  const ctx = await cpuContext([8, 8, 3], 10);
  const teacher = await torchResnet.build({ variant: 'resnet20', plain: false }, ctx);
  const student = await torchResnet.build({ variant: 'resnet20', plain: true }, ctx);
  assignByName(student.variables, variableMap(teacher.variables));
  for (const m of [teacher, student]) {
    for (const v of m.variables) if (/bn2\/(gamma|beta)$/.test(v.name)) v.variable.assign(tf.zerosLike(v.variable));
  }
  const x = randomImages(2, [8, 8, 3]);
  const t = teacher.apply(x, { training: false });
  const s = student.apply(x, { training: false });
  for (const tap of ['layer1', 'layer2', 'layer3']) {
    assert.equal(tf.max(tf.abs(s.taps[tap])).dataSync()[0], 0, tap);
    assert.ok(tf.max(tf.abs(t.taps[tap])).dataSync()[0] > 0, tap);
  }
  teacher.dispose();
  student.dispose();
});

test('evaluation frees each block as it goes, so batch-1024 timing does not hold every activation', async () => {
  const model = await torchResnet.build({ variant: 'resnet20', plain: false }, await cpuContext([16, 16, 3], 4));
  const x = randomImages(4, [16, 16, 3]);
  const evaluation = await forwardPeakBytes(model, x, false);
  const training = await forwardPeakBytes(model, x, true);
  assert.ok(evaluation < 0.4 * training, `evaluation peak ${evaluation} B vs training ${training} B`);
  model.dispose();
});
