import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeBatchNorm, makeConv, makeDense, ParamStore } from '../../src/models/nn.js';
import {
  bnReluLayer,
  classifier,
  convLayer,
  maxPoolLayer,
  network,
  residualLayer,
  tapLayer,
} from '../../src/models/layers.js';
import { scalarVariable } from '../../src/models/common.js';
import { encodeModelGraph, nhwcToNchw, openSession, runLogits } from '../../src/models/onnx/runtime.js';
import { cpuContext, randomImages, tf } from '../helpers/tiny-model.js';

/**
 * A network no family builds, described once as layers: what a new family gets without writing its ONNX graph or its
 * FLOPs. Odd sizes (7×7 input, stride 2) make the padding and output-size rules of each kind matter.
 */
async function describedNetwork(epsilon: number) {
  const ctx = await cpuContext([7, 7, 2], 3, 4);
  const store = new ParamStore(tf, ctx.seed);
  const init = { kind: 'he-fan-in-truncated' } as const;
  const bn = (name: string, ch: number) => {
    const b = makeBatchNorm(store, name, ch, 0.9, 1e-5);
    tf.tidy(() => {
      b.mean.assign(tf.randomUniform([ch], -0.5, 0.5, 'float32', ch));
      b.variance.assign(tf.randomUniform([ch], 0.5, 1.5, 'float32', ch + 1));
    });
    return b;
  };
  const eps = scalarVariable(tf, epsilon);
  const layers = [
    convLayer(makeConv(store, 'stem', 3, 2, 4, 2, init), 'stem', { bn: bn('stem/bn', 4), relu: true }),
    maxPoolLayer(3, 2, 'pool'),
    tapLayer('stem'),
    residualLayer({
      name: 'gated',
      pre: [bnReluLayer(bn('gated/preact', 4), 'gated/preact')],
      branch: [convLayer(makeConv(store, 'gated/conv', 3, 4, 6, 1, init), 'gated/conv')],
      shortcut: [convLayer(makeConv(store, 'gated/short', 1, 4, 6, 1, init), 'gated/short')],
      shortcutReads: 'pre',
      gate: { epsilon: eps, sharpness: 1e6, testGate: 'recompute', lastGate: null },
    }),
    residualLayer({
      name: 'plain',
      pre: [],
      branch: [convLayer(makeConv(store, 'plain/conv', 3, 6, 6, 2, init), 'plain/conv', { bn: bn('plain/bn', 6) })],
      shortcut: null,
      shortcutReads: 'input',
      relu: true,
    }),
    tapLayer('body'),
  ];
  const head = classifier(bnReluLayer(bn('last', 6), 'last'), makeDense(store, 'fc', 6, 3, init), {
    pool: 'gap',
    fc: 'fc',
  });
  const facts = { name: 'described', inputShape: [7, 7, 2] as [number, number, number], numClasses: 3 };
  return network(
    tf,
    { ...facts, variables: store.variables, parts: [['all', () => true]], epsilon: eps },
    layers,
    head,
  );
}

test('a network described once as layers counts its FLOPs and exports the graph it computes', async () => {
  const model = await describedNetwork(0);
  // stem 3×3/2 on 7×7 → 4×4, pool → 2×2; gated: 3×3 4→6 and 1×1 4→6 at 2×2; plain: 3×3/2 6→6 → 1×1; FC 6→3.
  const macs = 16 * 9 * 2 * 4 + 4 * 9 * 4 * 6 + 4 * 4 * 6 + 1 * 9 * 6 * 6 + 6 * 3;
  assert.equal(model.flops(), 2 * macs);
  assert.deepEqual(model.tapNames, ['stem', 'body']);

  const x = randomImages(3, model.inputShape, 5);
  const out = model.apply(x, { training: false });
  assert.deepEqual(out.taps.stem.shape, [3, 2, 2, 4]);
  assert.deepEqual(out.taps.body.shape, [3, 1, 1, 6]);
  assert.deepEqual(
    out.gates.map((g) => [g.block, g.gate.dataSync()[0]]),
    [['gated', 1]],
  );
  const session = await openSession(encodeModelGraph(model), 1);
  const [n, h, w, c] = x.shape;
  const ort = await runLogits(session, nhwcToNchw(x.dataSync() as Float32Array, x.shape), [n, c, h, w]);
  await session.release();
  const ours = out.logits.dataSync();
  assert.ok(Math.max(...ours.map((v, i) => Math.abs(v - ort[i]))) < 1e-4, 'onnxruntime gives the same logits');
  tf.dispose([x, out as unknown as tf.TensorContainer]);
  model.dispose();
});

test('a gated-off block in a described network is the shortcut alone, in the forward pass and in ONNX', async () => {
  const model = await describedNetwork(1e9);
  const x = randomImages(2, model.inputShape, 6);
  const out = model.apply(x, { training: false });
  assert.equal(out.gates[0].gate.dataSync()[0], 0);
  const session = await openSession(encodeModelGraph(model), 1);
  const [n, h, w, c] = x.shape;
  const ort = await runLogits(session, nhwcToNchw(x.dataSync() as Float32Array, x.shape), [n, c, h, w]);
  await session.release();
  const ours = out.logits.dataSync();
  assert.ok(Math.max(...ours.map((v, i) => Math.abs(v - ort[i]))) < 1e-4);
  tf.dispose([x, out as unknown as tf.TensorContainer]);
  model.dispose();
});
