import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parameterCount } from '../../src/models/nn.js';
import { preactResnet } from '../../src/components/model/preact-resnet.js';
import { epsilonResnet } from '../../src/components/model/epsilon-resnet.js';
import { preactCifarProblems } from '../../src/models/preact-resnet.js';
import { cpuContext, forwardPeakBytes, randomImages, tf } from '../helpers/tiny-model.js';

const defaults = {
  depth: 20,
  epsilon: null,
  gate_sharpness: 1e6,
  test_gate: 'recompute' as const,
  side_output: null,
  structure: null,
  discard_first_block: [0, 0, 0],
};

/** Trainable parameters of the option-A pre-act ResNet counted by hand: conv0+BN, per block [BN] conv BN conv, BN, FC. */
function expectedParams(n: number, classes: number, inCh = 3): number {
  const block = (cin: number, cout: number, preact: boolean) =>
    (preact ? 2 * cin : 0) + 9 * cin * cout + 2 * cout + 9 * cout * cout;
  let total = 9 * inCh * 16 + 2 * 16;
  for (const [s, ch] of [
    [1, 16],
    [2, 32],
    [3, 64],
  ]) {
    for (let i = 0; i < n; i++) total += block(i === 0 && s > 1 ? ch / 2 : ch, ch, !(s === 1 && i === 0));
  }
  return total + 2 * 64 + 64 * classes + classes;
}

test('pre-act ResNet-20 with option-A shortcuts has 269,722 parameters and 81.1 MFLOPs on CIFAR-10', async () => {
  const model = await preactResnet.build(defaults, await cpuContext([32, 32, 3], 10));
  assert.equal(parameterCount(model.variables), 269_722);
  assert.equal(parameterCount(model.variables), expectedParams(3, 10));
  // 2 × MACs: conv0 32·32·27·16, stage 1 six 3×3 16→16 convs at 32², stages 2 and 3 one half-width conv and five full ones, FC.
  const macs = 1024 * 27 * 16 + 6 * 1024 * 9 * 256 + 2 * (256 * 9 * 16 * 32 + 5 * 256 * 9 * 32 * 32) + 64 * 10;
  assert.equal(model.flops(), 2 * macs);
  assert.equal(model.flops(), 81_102_080);
  model.dispose();
});

test('parameter counts follow the depth and the class count', async () => {
  for (const [depth, classes] of [
    [8, 10],
    [14, 100],
  ]) {
    const model = await preactResnet.build({ ...defaults, depth }, await cpuContext([8, 8, 1], classes));
    assert.equal(parameterCount(model.variables), expectedParams((depth - 2) / 6, classes, 1));
    model.dispose();
  }
});

test('forward pass: logits, stage taps at 1, 1/2 and 1/4 resolution, no gates without ε', async () => {
  const model = await preactResnet.build({ ...defaults, depth: 8 }, await cpuContext([8, 8, 3], 10));
  const x = randomImages(2, [8, 8, 3]);
  for (const training of [true, false]) {
    const out = model.apply(x, { training });
    assert.deepEqual(out.logits.shape, [2, 10]);
    assert.deepEqual(model.tapNames, ['conv0', 'res1', 'res2', 'res3']);
    assert.deepEqual(Object.fromEntries(Object.entries(out.taps).map(([k, t]) => [k, t.shape])), {
      conv0: [2, 8, 8, 16],
      res1: [2, 8, 8, 16],
      res2: [2, 4, 4, 32],
      res3: [2, 2, 2, 64],
    });
    assert.deepEqual(out.gates, []);
    assert.deepEqual(out.auxLogits, []);
    assert.equal(model.epsilon, undefined);
  }
  model.dispose();
});

test('tensorpack variable names; weight decay applies to exactly the /W kernels', async () => {
  const model = await preactResnet.build({ ...defaults, depth: 8 }, await cpuContext([8, 8, 3], 10));
  const names = model.variables.map((v) => v.name);
  for (const n of [
    'conv0/W',
    'conv0/bn/gamma',
    'res1.0/conv1/W',
    'res1.0/conv1/bn/mean',
    'res1.0/conv2/W',
    'res2.0/bn/beta',
    'res3.0/bn/variance',
    'bnlast/bn/gamma',
    'linear/W',
    'linear/b',
  ]) {
    assert.ok(names.includes(n), n);
  }
  assert.ok(!names.includes('res1.0/bn/gamma'), 'res1.0 takes conv0 output without a pre-activation');
  assert.ok(!names.some((n) => n.includes('shortcut')), 'option A has no shortcut weights');
  assert.deepEqual(
    model.variables.filter((v) => v.decay).map((v) => v.name),
    names.filter((n) => n.endsWith('/W')),
  );
  assert.deepEqual(
    model.variables.filter((v) => !v.trainable).map((v) => v.name),
    names.filter((n) => /\/(mean|variance)$/.test(n)),
  );
  assert.deepEqual(Object.keys(model.stages!), ['conv0', 'res1', 'res2', 'res3', 'head']);
  model.dispose();
});

test('a depth that is not 6n+2 and images the shortcut cannot halve twice are refused', async () => {
  await assert.rejects(
    async () => preactResnet.build({ ...defaults, depth: 21 }, await cpuContext([8, 8, 3], 10)),
    /depth must be 6n\+2/,
  );
  await assert.rejects(
    async () => preactResnet.build({ ...defaults, depth: 8 }, await cpuContext([10, 10, 3], 10)),
    /multiples of 4/,
  );
});

test('the side head sits after res2.{n/2}, is named side_output/<block>, and is left out of the FLOPs', async () => {
  const ctx = await cpuContext([8, 8, 3], 5);
  const model = await epsilonResnet.build({ ...defaults, depth: 14, epsilon: 2.5, side_output: { weight: 0.1 } }, ctx);
  const plain = await preactResnet.build({ ...defaults, depth: 14 }, ctx);
  const names = model.variables.map((v) => v.name).filter((n) => n.startsWith('side_output/'));
  assert.deepEqual(names.sort(), [
    'side_output/res2.1/bnlast/bn/beta',
    'side_output/res2.1/bnlast/bn/gamma',
    'side_output/res2.1/bnlast/bn/mean',
    'side_output/res2.1/bnlast/bn/variance',
    'side_output/res2.1/linear/W',
    'side_output/res2.1/linear/b',
  ]);
  const out = model.apply(randomImages(2, [8, 8, 3]), { training: true });
  assert.equal(out.auxLogits.length, 1);
  assert.equal(out.auxLogits[0].name, 'side_output/res2.1');
  assert.equal(out.auxLogits[0].weight, 0.1);
  assert.deepEqual(out.auxLogits[0].logits.shape, [2, 5]);
  assert.equal(model.flops(), plain.flops());
  await assert.rejects(
    async () => epsilonResnet.build({ ...defaults, depth: 14, epsilon: 2.5, side_output: { after: 'res2.7' } }, ctx),
    /not a block/,
  );
  model.dispose();
  plain.dispose();
});

test('a compressed structure builds only the kept blocks, with the shortcut alone where a first block went', async () => {
  const ctx = await cpuContext([8, 8, 3], 10);
  const model = await preactResnet.build(
    { ...defaults, depth: 14, structure: [1, 0, 2], discard_first_block: [1, 1, 0] },
    ctx,
  );
  const blocks = [...new Set(model.variables.map((v) => v.name.split('/')[0]).filter((n) => n.startsWith('res')))];
  assert.deepEqual(blocks, ['res1.1', 'res3.0', 'res3.1']);
  assert.ok(
    model.variables.some((v) => v.name === 'res1.1/bn/gamma'),
    'res1.1 keeps its pre-activation',
  );
  const out = model.apply(randomImages(1, [8, 8, 3]), { training: false });
  assert.deepEqual(out.taps.res2.shape, [1, 4, 4, 32]);
  assert.deepEqual(out.logits.shape, [1, 10]);
  await assert.rejects(
    async () =>
      preactResnet.build({ ...defaults, depth: 14, structure: [2, 2, 2], discard_first_block: [1, 0, 0] }, ctx),
    /does not fit/,
  );
  await assert.rejects(
    async () =>
      preactResnet.build({ ...defaults, depth: 14, structure: [2, 0, 2], discard_first_block: [0, 0, 0] }, ctx),
    /discard_first_block\[1\] = 1/,
  );
  model.dispose();
});

test('the same seed builds the same weights', async () => {
  const a = await preactResnet.build({ ...defaults, depth: 8 }, await cpuContext([8, 8, 3], 10, 3));
  const b = await preactResnet.build({ ...defaults, depth: 8 }, await cpuContext([8, 8, 3], 10, 3));
  for (let i = 0; i < a.variables.length; i++)
    assert.deepEqual(a.variables[i].variable.dataSync(), b.variables[i].variable.dataSync());
  a.dispose();
  b.dispose();
});

test('building, training and evaluation passes and dispose leave no tensor behind', async () => {
  const ctx = await cpuContext([8, 8, 3], 10);
  const before = tf.memory().numTensors;
  const model = await epsilonResnet.build({ ...defaults, depth: 14, epsilon: 0.5, side_output: { weight: 0.1 } }, ctx);
  const built = tf.memory().numTensors;
  assert.equal(built - before, model.variables.length + 1, 'the variables and ε, nothing else');
  const x = randomImages(2, [8, 8, 3]);
  for (const training of [true, false]) tf.tidy(() => void model.apply(x, { training }));
  assert.equal(tf.memory().numTensors, built + 1);
  x.dispose();
  model.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('evaluation frees each block as it goes: its peak memory is a fraction of a training pass, which keeps every activation', async () => {
  const model = await preactResnet.build({ ...defaults, depth: 32, epsilon: 1 }, await cpuContext([16, 16, 3], 4));
  const x = randomImages(4, [16, 16, 3]);
  const evaluation = await forwardPeakBytes(model, x, false);
  const training = await forwardPeakBytes(model, x, true);
  assert.ok(evaluation < 0.4 * training, `evaluation peak ${evaluation} B vs training ${training} B`);
  model.dispose();
});

const cifar = { depth: 20, structure: null, discard_first_block: [0, 0, 0], side_output: null };

test('CIFAR pre-act ResNet sections: depth, structure and side position are reported at their own parameter', () => {
  assert.deepEqual(preactCifarProblems(cifar), []);
  assert.deepEqual(preactCifarProblems({ ...cifar, side_output: { weight: 0.1 } }), []);
  assert.deepEqual(
    preactCifarProblems({ ...cifar, depth: 21 }).map((p) => p.path),
    ['depth'],
  );
  assert.match(preactCifarProblems({ ...cifar, depth: 21 })[0].message, /6n\+2/);
  assert.deepEqual(
    preactCifarProblems({ ...cifar, structure: [3, 3, 3], discard_first_block: [0, 1, 0] }).map((p) => p.path),
    ['structure'],
  );
  assert.deepEqual(
    preactCifarProblems({ ...cifar, discard_first_block: [1, 0, 0] }).map((p) => p.path),
    ['discard_first_block'],
  );
  assert.deepEqual(
    preactCifarProblems({ ...cifar, side_output: { after: 'res2.3' } }).map((p) => p.path),
    ['side_output.after'],
  );
  assert.deepEqual(
    preactCifarProblems({
      ...cifar,
      structure: [3, 2, 3],
      discard_first_block: [0, 1, 0],
      side_output: { after: 'res2.0' },
    }).map((p) => p.path),
    ['side_output.after'],
  );
});
