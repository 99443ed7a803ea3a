import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parameterCount } from '../../src/models/nn.js';
import { epsilonResnet } from '../../src/components/model/epsilon-resnet.js';
import { preactResnet } from '../../src/components/model/preact-resnet.js';
import { preactResnetImagenet } from '../../src/components/model/preact-resnet-imagenet.js';
import { planCompression, remapWeights } from '../../src/models/compress.js';
import { preactResnetCompression } from '../../src/models/preact-resnet.js';
import { preactResnetImagenetCompression } from '../../src/models/preact-resnet-imagenet.js';
import { assignByName, variableMap } from '../../src/models/weights.js';
import { cpuContext, maxAbsDiff, randomImages, scale } from '../helpers/tiny-model.js';

const blockVars = (block: string) => [`${block}/bn/gamma`, `${block}/conv1/W`, `${block}/conv2/W`];

test('kept blocks are renumbered per stage, from 1 where the first block went; side head and discarded weights are dropped', () => {
  const names = ['conv0/W', 'bnlast/bn/gamma', 'linear/W', 'linear/b', 'side_output/res2.2/linear/W'];
  for (const s of [1, 2, 3]) for (let i = 0; i < 4; i++) names.push(...blockVars(`res${s}.${i}`));
  const plan = planCompression(preactResnetCompression({ depth: 26 }), names, ['res3.3', 'res2.2', 'res1.0', 'res2.0']);
  assert.deepEqual(plan.model, {
    type: 'preact-resnet',
    depth: 26,
    epsilon: null,
    side_output: null,
    structure: [3, 2, 3],
    discard_first_block: [1, 1, 0],
  });
  assert.deepEqual(plan.discarded, ['res1.0', 'res2.0', 'res2.2', 'res3.3']);
  assert.deepEqual(plan.blockMap, {
    'res1.1': 'res1.1',
    'res1.2': 'res1.2',
    'res1.3': 'res1.3',
    'res2.1': 'res2.1',
    'res2.3': 'res2.2',
    'res3.0': 'res3.0',
    'res3.1': 'res3.1',
    'res3.2': 'res3.2',
  });
  assert.equal(plan.weightMap['res2.3/conv2/W'], 'res2.2/conv2/W');
  assert.equal(plan.weightMap['linear/W'], 'linear/W');
  for (const gone of ['side_output/res2.2/linear/W', 'res1.0/conv1/W', 'res2.2/conv1/W', 'res3.3/bn/gamma'])
    assert.ok(!(gone in plan.weightMap), gone);
  assert.equal(Object.keys(plan.weightMap).length, 4 + 8 * 3);
  assert.throws(
    () => planCompression(preactResnetCompression({ depth: 26 }), names, ['res4.0']),
    /not blocks of this network/,
  );
  assert.throws(
    () => planCompression(preactResnetCompression({ depth: 26 }), [...names, 'mystery/W'], []),
    /mystery\/W/,
  );
});

test('a compressed model can be compressed again: numbering continues from its own layout', () => {
  const names = [
    'conv0/W',
    ...blockVars('res1.1'),
    ...blockVars('res1.2'),
    ...blockVars('res2.0'),
    ...blockVars('res2.1'),
    ...blockVars('res3.1'),
  ];
  const plan = planCompression(
    preactResnetCompression({ depth: 20, structure: [2, 2, 1], discard_first_block: [1, 0, 1] }),
    names,
    ['res1.1', 'res2.0'],
  );
  assert.deepEqual(plan.model.structure, [1, 1, 1]);
  assert.deepEqual(plan.model.discard_first_block, [1, 1, 1]);
  assert.deepEqual(plan.blockMap, { 'res1.2': 'res1.1', 'res2.1': 'res2.1', 'res3.1': 'res3.1' });
});

test('the compressed network gives the logits of the gated one whose discarded blocks are off, with fewer parameters and FLOPs', async () => {
  const ctx = await cpuContext([8, 8, 3], 4);
  const gated = await epsilonResnet.build(
    {
      depth: 14,
      epsilon: 1e-3,
      gate_sharpness: 1e6,
      test_gate: 'recompute' as const,
      side_output: { weight: 0.1 },
      structure: null,
      discard_first_block: [0, 0, 0],
    },
    ctx,
  );
  const discarded = ['res1.0', 'res2.0', 'res3.1'];
  for (const b of discarded) scale(gated, `${b}/conv2/W`, 0);
  for (let i = 0; i < 3; i++) gated.apply(randomImages(4, [8, 8, 3], 20 + i), { training: true });

  const x = randomImages(3, [8, 8, 3]);
  const before = gated.apply(x, { training: false });
  for (const g of before.gates) assert.equal(g.gate.dataSync()[0], discarded.includes(g.block) ? 0 : 1, g.block);

  const plan = planCompression(
    preactResnetCompression({ depth: 14 }),
    gated.variables.map((v) => v.name),
    discarded,
  );
  const { type, ...params } = plan.model;
  assert.equal(type, preactResnet.type);
  const compressed = await preactResnet.build(
    { ...params, gate_sharpness: 1e6, test_gate: 'recompute' } as Parameters<typeof preactResnet.build>[0],
    ctx,
  );
  const unused = assignByName(compressed.variables, remapWeights(plan, variableMap(gated.variables)));
  assert.deepEqual(unused, []);
  const after = compressed.apply(x, { training: false });
  assert.ok(
    maxAbsDiff(before.logits, after.logits) < 1e-5,
    `logits differ by ${maxAbsDiff(before.logits, after.logits)}`,
  );
  assert.deepEqual(after.gates, []);
  assert.deepEqual(after.auxLogits, []);
  const sideParams = parameterCount(gated.variables.filter((v) => v.name.startsWith('side_output/')));
  const blockParams = parameterCount(gated.variables.filter((v) => discarded.some((b) => v.name.startsWith(`${b}/`))));
  assert.equal(parameterCount(compressed.variables), parameterCount(gated.variables) - sideParams - blockParams);
  assert.ok(compressed.flops() < gated.flops());
  gated.dispose();
  compressed.dispose();
});

test('test_gate last-train: evaluation keeps the last training batch gate, so the compressed network matches it even where the gate would reopen', async () => {
  const ctx = await cpuContext([8, 8, 3], 4);
  const common = {
    depth: 14,
    epsilon: 1e-3,
    gate_sharpness: 1e6,
    side_output: { weight: 0.1 },
    structure: null,
    discard_first_block: [0, 0, 0],
  };
  const gated = await epsilonResnet.build({ ...common, test_gate: 'last-train' as const }, ctx);
  const recomputed = await epsilonResnet.build({ ...common, test_gate: 'recompute' as const }, ctx);
  const identities = gated.variables.filter((v) => v.name.endsWith('/identity'));
  assert.equal(identities.length, 6);
  assert.ok(
    identities.every((v) => !v.trainable),
    'the gate memory is not a weight',
  );
  assert.equal(parameterCount(gated.variables), parameterCount(recomputed.variables));

  const discarded = ['res1.1', 'res3.0'];
  for (const b of discarded) scale(gated, `${b}/conv2/W`, 1e-7);
  gated.apply(randomImages(4, [8, 8, 3], 30), { training: true });
  for (const v of identities)
    assert.equal(v.variable.dataSync()[0], discarded.some((b) => v.name === `${b}/identity`) ? 0 : 1, v.name);
  for (const b of discarded) scale(gated, `${b}/conv2/W`, 1e7);

  const x = randomImages(3, [8, 8, 3]);
  const before = gated.apply(x, { training: false });
  assert.deepEqual(before.gates, [], 'evaluation reads the stored gates instead of recomputing them');
  assignByName(recomputed.variables, variableMap(gated.variables.filter((v) => !v.name.endsWith('/identity'))));
  const reopened = recomputed.apply(x, { training: false });
  assert.ok(maxAbsDiff(before.logits, reopened.logits) > 1e-3, 'recomputing reopens the blocks whose responses grew');

  const plan = planCompression(
    preactResnetCompression({ depth: 14 }),
    gated.variables.map((v) => v.name),
    discarded,
  );
  const { type, ...params } = plan.model;
  const compressed = await preactResnet.build(
    { ...params, gate_sharpness: 1e6, test_gate: 'recompute' } as Parameters<typeof preactResnet.build>[0],
    ctx,
  );
  assert.deepEqual(assignByName(compressed.variables, remapWeights(plan, variableMap(gated.variables))), []);
  assert.equal(type, preactResnet.type);
  assert.ok(maxAbsDiff(before.logits, compressed.apply(x, { training: false }).logits) < 1e-5);
  for (const m of [gated, recomputed, compressed]) m.dispose();
});

test('ImageNet names: group<g>/block<i> renumbered per group, a discarded first block keeps its preact BN and convshortcut', () => {
  const names = [
    'conv0/W',
    'conv0/bn/gamma',
    'bnlast/bn/gamma',
    'linear/W',
    'group2/side_output/block0/linear/W',
    'group1/block1/identity',
  ];
  const block = (g: number, i: number) => [
    `group${g}/block${i}/conv1/W`,
    `group${g}/block${i}/conv1/bn/gamma`,
    `group${g}/block${i}/conv3/W`,
    ...(g > 0 || i > 0 ? [`group${g}/block${i}/preact/bn/gamma`] : []),
  ];
  for (let g = 0; g < 4; g++) {
    for (let i = 0; i < 3; i++) names.push(...block(g, i));
    names.push(`group${g}/block0/convshortcut/W`);
  }
  const source = { type: 'preact-resnet-imagenet', depth: 50, units: [3, 3, 3, 3], base_width: 8 };
  const plan = planCompression(preactResnetImagenetCompression(source), names, [
    'group1/block0',
    'group2/block1',
    'group3/block0',
    'group3/block1',
    'group3/block2',
  ]);
  assert.deepEqual(plan.model, {
    type: 'preact-resnet-imagenet',
    depth: 50,
    units: [3, 3, 3, 3],
    base_width: 8,
    epsilon: null,
    side_output: null,
    structure: [3, 2, 2, 0],
    discard_first_block: [0, 1, 0, 1],
  });
  assert.equal(plan.blockMap['group2/block2'], 'group2/block1');
  assert.equal(plan.blockMap['group1/block2'], 'group1/block2');
  assert.equal(plan.weightMap['group2/block2/conv3/W'], 'group2/block1/conv3/W');
  for (const kept of [
    'group1/block0/convshortcut/W',
    'group1/block0/preact/bn/gamma',
    'group3/block0/convshortcut/W',
    'group0/block0/convshortcut/W',
  ])
    assert.equal(plan.weightMap[kept], kept);
  for (const gone of [
    'group1/block0/conv1/W',
    'group3/block1/conv3/W',
    'group2/side_output/block0/linear/W',
    'group1/block1/identity',
  ])
    assert.ok(!(gone in plan.weightMap), gone);
  assert.deepEqual(plan.discarded, [
    'group1/block0',
    'group2/block1',
    'group3/block0',
    'group3/block1',
    'group3/block2',
  ]);
  assert.throws(
    () => planCompression(preactResnetImagenetCompression(source), names, ['group4/block0']),
    /not blocks of this network/,
  );
  assert.throws(() => preactResnetImagenetCompression({ ...source, depth: 77 }), /depth 77/);
});

test("SVHN's 302-layer network (n = 50) compresses, which the original's compressModel.py refuses", () => {
  const names = ['conv0/W', 'linear/W'];
  for (const s of [1, 2, 3]) for (let i = 0; i < 50; i++) names.push(...blockVars(`res${s}.${i}`));
  const plan = planCompression(preactResnetCompression({ depth: 302 }), names, ['res2.0', 'res3.49', 'res1.7']);
  assert.deepEqual(plan.model.structure, [49, 49, 49]);
  assert.deepEqual(plan.model.discard_first_block, [0, 1, 0]);
  assert.equal(plan.blockMap['res1.8'], 'res1.7');
  assert.equal(plan.model.type, 'preact-resnet');
});

for (const net of [
  {
    depth: 50 as const,
    units: [2, 2, 2, 2],
    off: ['group0/block0', 'group1/block0', 'group2/block1', 'group3/block0', 'group3/block1'],
    last: 'conv3',
  },
  { depth: 18 as const, units: [2, 1, 2, 1], off: ['group0/block0', 'group2/block0', 'group1/block0'], last: 'conv2' },
]) {
  test(`ImageNet ResNet-${net.depth} (${net.units}) with ${net.off.length} blocks forced off: the compressed network gives the gated one's logits within 1e-5`, async () => {
    const ctx = await cpuContext([16, 16, 3], 5);
    const common = {
      depth: net.depth,
      units: net.units,
      base_width: 4,
      gate_sharpness: 1e6,
      test_gate: 'recompute' as const,
      discard_first_block: [0, 0, 0, 0],
    };
    const gated = await preactResnetImagenet.build(
      { ...common, epsilon: 1e-3, side_output: { weight: 0.1, after: 'group2/block0' }, structure: null },
      ctx,
    );
    for (const b of net.off) scale(gated, `${b}/${net.last}/W`, 0);
    for (let i = 0; i < 3; i++) gated.apply(randomImages(4, [16, 16, 3], 40 + i), { training: true });
    const x = randomImages(3, [16, 16, 3]);
    const before = gated.apply(x, { training: false });
    for (const g of before.gates) assert.equal(g.gate.dataSync()[0], net.off.includes(g.block) ? 0 : 1, g.block);

    const plan = planCompression(
      preactResnetImagenetCompression(common),
      gated.variables.map((v) => v.name),
      net.off,
    );
    const { type, ...params } = plan.model;
    assert.equal(type, preactResnetImagenet.type);
    const compressed = await preactResnetImagenet.build(
      { ...params, gate_sharpness: 1e6, test_gate: 'recompute' } as Parameters<typeof preactResnetImagenet.build>[0],
      ctx,
    );
    assert.deepEqual(assignByName(compressed.variables, remapWeights(plan, variableMap(gated.variables))), []);
    const after = compressed.apply(x, { training: false });
    assert.ok(
      maxAbsDiff(before.logits, after.logits) < 1e-5,
      `logits differ by ${maxAbsDiff(before.logits, after.logits)}`,
    );
    assert.deepEqual(after.gates, []);
    assert.ok(parameterCount(compressed.variables) < parameterCount(gated.variables));
    assert.ok(compressed.flops() < gated.flops());
    gated.dispose();
    compressed.dispose();
  });
}
