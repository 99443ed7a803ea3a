import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import type { Model } from '../../../src/models/types.js';
import { preactResnet } from '../../../src/components/model/preact-resnet.js';
import { epsilonResnet } from '../../../src/components/model/epsilon-resnet.js';
import { preactResnetImagenet } from '../../../src/components/model/preact-resnet-imagenet.js';
import { torchResnet } from '../../../src/components/model/torch-resnet.js';
import { planCompression } from '../../../src/models/compress.js';
import { preactResnetCompression } from '../../../src/models/preact-resnet.js';
import { ONNX_OPSET } from '../../../src/models/onnx/graph.js';
import { encodeModelGraph, nhwcToNchw, openSession, runLogits } from '../../../src/models/onnx/runtime.js';
import { cpuContext, randomImages, scale, tf } from '../../helpers/tiny-model.js';

const { onnx } = onnxProto;

/** Running statistics and affine parameters away from their initial 0/1, so a wrong fold or a missing batch norm shows. */
function randomiseBatchNorms(model: Model, seed: number): void {
  let k = seed;
  for (const v of model.variables) {
    const kind = v.name.slice(v.name.lastIndexOf('/') + 1);
    if (!['gamma', 'beta', 'mean', 'variance'].includes(kind)) continue;
    k += 1;
    const r = tf.randomUniform(v.variable.shape, 0, 1, 'float32', k);
    v.variable.assign(kind === 'variance' ? tf.add(r, 0.5) : kind === 'gamma' ? tf.add(r, 0.5) : tf.sub(r, 0.5));
    r.dispose();
  }
}

/** Largest |logit difference| between epsilab's inference pass and onnxruntime on the exported graph, and the graph. */
async function compare(
  model: Model,
  batch = 5,
): Promise<{ diff: number; proto: InstanceType<typeof onnx.ModelProto>; epsilab: Float32Array }> {
  const x = randomImages(batch, model.inputShape, 11);
  const logits = tf.tidy(() => model.apply(x, { training: false }).logits);
  const epsilab = logits.dataSync() as Float32Array;
  const bytes = encodeModelGraph(model);
  const session = await openSession(bytes, 1);
  const [n, h, w, c] = x.shape;
  const ort = await runLogits(session, nhwcToNchw(x.dataSync() as Float32Array, x.shape), [n, c, h, w]);
  await session.release();
  tf.dispose([x, logits]);
  assert.equal(ort.length, epsilab.length);
  return {
    diff: Math.max(...epsilab.map((v, i) => Math.abs(v - ort[i]))),
    proto: onnx.ModelProto.decode(bytes),
    epsilab,
  };
}

function opTypes(proto: InstanceType<typeof onnx.ModelProto>): string[] {
  return proto.graph!.node!.map((n) => n.opType!);
}

const cifar = { gate_sharpness: 1e6, test_gate: 'recompute' as const, structure: null, discard_first_block: [0, 0, 0] };

test('a pre-activation CIFAR ResNet exports to ONNX that onnxruntime runs to the same logits, batch norms after convs folded', async () => {
  const model = await preactResnet.build(
    { ...cifar, depth: 8, epsilon: null, side_output: null },
    await cpuContext([8, 8, 3], 4, 3),
  );
  randomiseBatchNorms(model, 1);
  const { diff, proto } = await compare(model);
  assert.ok(diff < 1e-4, `max |Δ| ${diff}`);
  assert.equal(Number(proto.opsetImport![0].version), ONNX_OPSET);
  const input = proto.graph!.input![0].type!.tensorType!.shape!.dim!;
  assert.equal(input[0].dimParam, 'batch', 'the batch dimension is symbolic');
  assert.deepEqual(
    input.slice(1).map((d) => Number(d.dimValue)),
    [3, 8, 8],
  );
  const ops = opTypes(proto);
  // conv0's and every conv1's batch norm fold; the pre-activations of 2 of 3 blocks and bnlast cannot (they follow a sum).
  assert.equal(ops.filter((o) => o === 'BatchNormalization').length, 3);
  assert.equal(ops.filter((o) => o === 'Conv').length, 7);
  assert.ok(ops.includes('Pad') && ops.includes('AveragePool'), 'the option-A shortcut');
  model.dispose();
});

test('an ε-ResNet with recomputed gates exports its gate as ONNX ops: blocks gated off stay off in onnxruntime', async () => {
  const model = await epsilonResnet.build(
    { ...cifar, depth: 8, epsilon: 0.05, side_output: { weight: 0.1, after: null } },
    await cpuContext([8, 8, 3], 4, 5),
  );
  randomiseBatchNorms(model, 2);
  scale(model, 'res2.0/conv2/W', 1e-6); // |F| far under ε: gated off on any batch
  const x = randomImages(5, model.inputShape, 11);
  const gates = tf.tidy(() =>
    model.apply(x, { training: true, updateStats: false }).gates.map((g) => [g.block, g.gate.dataSync()[0]]),
  );
  x.dispose();
  assert.deepEqual(gates, [
    ['res1.0', 1],
    ['res2.0', 0],
    ['res3.0', 1],
  ]);
  const { diff, proto } = await compare(model);
  assert.ok(diff < 1e-4, `max |Δ| ${diff}`);
  const ops = opTypes(proto);
  assert.equal(ops.filter((o) => o === 'ReduceMax').length, 3, 'one batch-wide maximum per gate');
  assert.ok(
    !proto.graph!.node!.some((n) => n.name!.includes('side_output')),
    'the side head never predicts, so it is not exported',
  );
  model.dispose();
});

test("an ε-ResNet with test_gate: last-train exports the last training batch's gates as constants", async () => {
  const model = await epsilonResnet.build(
    { ...cifar, depth: 8, epsilon: 0.05, test_gate: 'last-train', side_output: null },
    await cpuContext([8, 8, 3], 4, 5),
  );
  randomiseBatchNorms(model, 3);
  scale(model, 'res3.0/conv2/W', 1e-6);
  const x = randomImages(4, model.inputShape, 12);
  tf.dispose(model.apply(x, { training: true, updateStats: true }) as unknown as tf.TensorContainer);
  x.dispose();
  const { diff, proto } = await compare(model);
  assert.ok(diff < 1e-4, `max |Δ| ${diff}`);
  const gates = Object.fromEntries(
    proto
      .graph!.initializer!.filter((t) => t.name!.endsWith('/gate'))
      .map((t) => [t.name, new Float32Array(Uint8Array.from(t.rawData!).buffer)[0]]),
  );
  assert.deepEqual(gates, { 'res1.0/gate': 1, 'res2.0/gate': 1, 'res3.0/gate': 0 });
  assert.ok(!opTypes(proto).includes('ReduceMax'), 'no gate is computed from the batch');
  model.dispose();
});

test('a compressed ε-ResNet (blocks removed, a stage reduced to its downsampling) exports and matches', async () => {
  const ctx = await cpuContext([8, 8, 3], 4, 6);
  const source = await epsilonResnet.build({ ...cifar, depth: 14, epsilon: 0.05, side_output: null }, ctx);
  const plan = planCompression(
    preactResnetCompression({ depth: 14 }),
    source.variables.map((v) => v.name),
    ['res2.0', 'res2.1', 'res3.1'],
  );
  source.dispose();
  const { type: _type, ...params } = plan.model;
  const model = await preactResnet.build(
    { ...cifar, ...params, gate_sharpness: 1e6, test_gate: 'recompute' } as Parameters<typeof preactResnet.build>[0],
    ctx,
  );
  randomiseBatchNorms(model, 4);
  const { diff } = await compare(model);
  assert.ok(diff < 1e-4, `max |Δ| ${diff}`);
  model.dispose();
});

test('an ImageNet pre-activation ε-ResNet (7×7/2 stem, max pool, projection shortcuts) exports and matches', async () => {
  const common = {
    gate_sharpness: 1e6,
    test_gate: 'recompute' as const,
    side_output: null,
    units: null,
    base_width: 64,
    structure: null,
    discard_first_block: [0, 0, 0, 0],
  };
  const model = await preactResnetImagenet.build(
    { ...common, depth: 18, epsilon: 0.01 },
    await cpuContext([16, 16, 3], 3, 7),
  );
  randomiseBatchNorms(model, 5);
  const { diff, proto } = await compare(model, 3);
  assert.ok(diff < 1e-4, `max |Δ| ${diff}`);
  assert.ok(opTypes(proto).includes('MaxPool'));
  model.dispose();
  // A compressed bottleneck net whose groups 0 and 2 open with their discarded first block's shortcut path alone.
  const compressed = await preactResnetImagenet.build(
    {
      ...common,
      depth: 50,
      epsilon: null,
      units: [2, 1, 2, 1],
      base_width: 4,
      structure: [1, 1, 1, 1],
      discard_first_block: [1, 0, 1, 0],
    },
    await cpuContext([16, 16, 3], 3, 7),
  );
  randomiseBatchNorms(compressed, 6);
  const c = await compare(compressed, 3);
  assert.ok(c.diff < 1e-4, `compressed: max |Δ| ${c.diff}`);
  compressed.dispose();
});

test('a torch-resnet teacher and its plain student export with every batch norm folded and match', async () => {
  for (const plain of [false, true]) {
    const model = await torchResnet.build({ variant: 'resnet18', plain }, await cpuContext([8, 8, 1], 5, 8));
    randomiseBatchNorms(model, 6);
    const { diff, proto } = await compare(model);
    assert.ok(diff < 1e-4, `plain ${plain}: max |Δ| ${diff}`);
    const ops = opTypes(proto);
    assert.ok(!ops.includes('BatchNormalization'), 'post-activation: every batch norm follows a conv');
    assert.equal(ops.includes('Add'), !plain, 'the plain student has no residual sum');
    model.dispose();
  }
});
