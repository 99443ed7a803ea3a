import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parameterCount } from '../../src/models/nn.js';
import { preactResnetImagenet } from '../../src/components/model/preact-resnet-imagenet.js';
import { imagenetSidePosition, preactImagenetProblems } from '../../src/models/preact-resnet-imagenet.js';
import { cpuContext, randomImages, tf } from '../helpers/tiny-model.js';

const base = {
  epsilon: null,
  gate_sharpness: 1e6,
  test_gate: 'recompute' as const,
  side_output: null,
  units: null,
  base_width: 64,
  structure: null,
  discard_first_block: [0, 0, 0, 0],
};

/** Convs, BN (γ, β), FC of tensorpack's pre-act ResNet counted per group: block0 preact except group0, 1×1 shortcut on width change. */
function expectedParams(units: number[], bottleneck: boolean, classes: number): number {
  let total = 49 * 3 * 64 + 2 * 64;
  let ch = 64;
  units.forEach((count, g) => {
    const f = 64 * 2 ** g;
    const out = bottleneck ? 4 * f : f;
    for (let i = 0; i < count; i++) {
      if (!(g === 0 && i === 0)) total += 2 * ch;
      total += bottleneck ? ch * f + 2 * f + 9 * f * f + 2 * f + f * out : 9 * ch * f + 2 * f + 9 * f * f;
      if (ch !== out) total += ch * out;
      ch = out;
    }
  });
  return total + 2 * ch + ch * classes + classes;
}

test('ResNet-18 builds, counts its parameters and FLOPs, and runs a training step on a tiny image', async () => {
  const model = await preactResnetImagenet.build({ ...base, depth: 18, epsilon: 2 }, await cpuContext([16, 16, 3], 10));
  assert.equal(parameterCount(model.variables), expectedParams([2, 2, 2, 2], false, 10));
  // 16 → conv0/2 → 8 → pool → 4 → 2 → 1 → 1; 2 × MACs of every conv (shortcuts included) and the FC.
  const macs =
    64 * 49 * 3 * 64 +
    4 * 16 * 9 * 64 * 64 +
    (4 * 9 * 64 * 128 + 3 * 4 * 9 * 128 * 128 + 4 * 64 * 128) +
    (9 * 128 * 256 + 3 * 9 * 256 * 256 + 128 * 256) +
    (9 * 256 * 512 + 3 * 9 * 512 * 512 + 256 * 512) +
    512 * 10;
  assert.equal(model.flops(), 2 * macs);
  const names = model.variables.map((v) => v.name);
  for (const n of [
    'conv0/W',
    'conv0/bn/gamma',
    'group0/block1/preact/bn/beta',
    'group1/block0/preact/bn/gamma',
    'group1/block0/convshortcut/W',
    'group3/block1/conv2/W',
    'bnlast/bn/gamma',
    'linear/b',
  ]) {
    assert.ok(names.includes(n), n);
  }
  assert.ok(!names.includes('group0/block0/preact/bn/gamma'), 'group0/block0 is no_preact');
  assert.ok(!names.includes('group0/block0/convshortcut/W'), 'a basic block keeps its width');
  const x = randomImages(2, [16, 16, 3]);
  const trainable = model.variables.filter((v) => v.trainable);
  const { value, grads } = tf.variableGrads(
    () => {
      const out = model.apply(x, { training: true });
      assert.equal(out.gates.length, 8);
      assert.deepEqual(
        Object.values(out.taps).map((t) => t.shape),
        [
          [2, 4, 4, 64],
          [2, 4, 4, 64],
          [2, 2, 2, 128],
          [2, 1, 1, 256],
          [2, 1, 1, 512],
        ],
      );
      return tf.mean(tf.square(out.logits)) as tf.Scalar;
    },
    trainable.map((v) => v.variable),
  );
  assert.ok(Number.isFinite(value.dataSync()[0]));
  assert.equal(Object.keys(grads).length, trainable.length);
  tf.dispose([value, ...Object.values(grads)]);
  model.dispose();
});

test('ResNet-50: bottleneck widths, 1×1 shortcuts, and the side head after group2/block0', async () => {
  const ctx = await cpuContext([32, 32, 3], 10);
  const model = await preactResnetImagenet.build({ ...base, depth: 50, side_output: { weight: 0.1 } }, ctx);
  const side = model.variables.filter((v) => v.name.includes('side_output')).map((v) => v.name);
  const main = model.variables.filter((v) => !v.name.includes('side_output'));
  assert.equal(parameterCount(main), expectedParams([3, 4, 6, 3], true, 10));
  assert.ok(side.includes('group2/side_output/block0/linear/W'));
  assert.ok(
    model.variables.some((v) => v.name === 'group0/block0/convshortcut/W'),
    'group0 widens 64 → 256',
  );
  const out = model.apply(randomImages(1, [32, 32, 3]), { training: false });
  assert.deepEqual(out.logits.shape, [1, 10]);
  assert.equal(out.auxLogits[0].name, 'group2/side_output/block0');
  assert.deepEqual(out.taps.group3.shape, [1, 1, 1, 2048]);
  model.dispose();
});

test("the seed's side-output rule: 101 → group2/block8, 152 → group2/block13, 18 has no position", () => {
  assert.equal(imagenetSidePosition(101), 'group2/block8');
  assert.equal(imagenetSidePosition(152), 'group2/block13');
  assert.equal(imagenetSidePosition(50), 'group2/block0');
  assert.throws(() => imagenetSidePosition(18), /side_output.after/);
});

test('ImageNet sections: ResNet-18 needs side_output.after, a named block must exist', () => {
  const im = { units: null, structure: null, discard_first_block: [0, 0, 0, 0] };
  assert.deepEqual(preactImagenetProblems({ ...im, depth: 101, side_output: { weight: 0.1 } }), []);
  assert.deepEqual(preactImagenetProblems({ ...im, depth: 18, side_output: null }), []);
  assert.deepEqual(
    preactImagenetProblems({ ...im, depth: 18, side_output: {} }).map((p) => p.path),
    ['side_output'],
  );
  assert.deepEqual(preactImagenetProblems({ ...im, depth: 18, side_output: { after: 'group2/block1' } }), []);
  assert.deepEqual(
    preactImagenetProblems({ ...im, depth: 18, side_output: { after: 'group2/block2' } }).map((p) => p.path),
    ['side_output.after'],
  );
  assert.deepEqual(
    preactImagenetProblems({ ...im, depth: 50, units: [1, 1, 3, 1], side_output: { weight: 0.1 } }),
    [],
    'reduced units: the rule gives group2/block0',
  );
  assert.deepEqual(
    preactImagenetProblems({ ...im, depth: 50, units: [1, 2, 2, 1], side_output: { weight: 0.1 } }).map((p) => p.path),
    ['side_output'],
    'the rule gives −1 there',
  );
  assert.deepEqual(
    preactImagenetProblems({ ...im, depth: 50, structure: [3, 4, 6], side_output: null }).map((p) => p.path),
    ['structure'],
  );
  assert.deepEqual(
    preactImagenetProblems({ ...im, depth: 50, structure: [3, 4, 0, 3], side_output: null }).map((p) => p.path),
    ['structure'],
    'a group left empty must say its first block went',
  );
  assert.deepEqual(
    preactImagenetProblems({
      ...im,
      depth: 50,
      structure: [3, 4, 5, 3],
      discard_first_block: [0, 0, 1, 0],
      side_output: null,
    }),
    [],
  );
});
