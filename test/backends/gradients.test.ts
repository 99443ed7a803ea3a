import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GradConfig } from '@tensorflow/tfjs-core';
import { tf } from '../../src/backends/tfjs.js';
import { selectBackend } from '../../src/backends/select.js';
import { batchNormTraining } from '../../src/backends/fused/batch-norm-training.js';

type Tensor = InstanceType<typeof tf.Tensor>;
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

// tfjs's own gradients, captured before anything replaces them: the reference everything is checked against.
await tf.setBackend('cpu');
const kernelNames = [
  ...new Set(Object.values(tf as unknown as Record<string, unknown>).filter((v): v is string => typeof v === 'string')),
];
const capture = (): GradConfig[] => kernelNames.map((n) => tf.getGradient(n)).filter((c) => c != null);
const stock = capture();
const use = (configs: GradConfig[]) => configs.forEach((c) => tf.registerGradient(c));
await selectBackend('wasm', { log: () => {} });
const ours = capture();
use(stock);

/** Gradients of sum(f(inputs)·r), r random, so every element of dy differs. */
function gradients(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], seed: number): Float32Array[] {
  return tf.tidy(() => {
    const probe = f(...inputs);
    const r = tf.randomNormal(probe.shape, 0, 1, 'float32', seed);
    const gs = tf.grads((...xs: Tensor[]) => tf.sum(tf.mul(f(...xs), r)))(inputs);
    return gs.map((g) => g.dataSync() as Float32Array);
  });
}

function relError(got: Float32Array, want: Float32Array): number {
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / scale;
}

/** Checks the project's gradients on cpu and on wasm against tfjs's stock gradients on cpu, on fresh random inputs. */
async function agrees(what: string, f: (...xs: Tensor[]) => Tensor, shapes: number[][]): Promise<void> {
  const seed = 1 + Math.floor(Math.random() * 1e6);
  const inputs = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', seed + 1 + i));
  await tf.setBackend('cpu');
  const want = gradients(f, inputs, seed);
  use(ours);
  try {
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const got = gradients(f, inputs, seed);
      got.forEach((g, i) => {
        const err = relError(g, want[i]);
        assert.ok(
          err < 1e-4,
          `${what} on ${backend}: gradient of input ${i} off by ${err.toExponential(2)} (seed ${seed})`,
        );
      });
    }
  } finally {
    use(stock);
    inputs.forEach((t) => t.dispose());
  }
}

const symmetric = (p: number): Pad => [
  [0, 0],
  [p, p],
  [p, p],
  [0, 0],
];

test('conv2d gradients match tfjs for 1×1, 3×3 and 7×7 kernels, strides 1 and 2, same/valid/explicit padding', async () => {
  const cases: { k: number; s: number; pad: Pad; hw: [number, number] }[] = [];
  for (const k of [1, 3])
    for (const s of [1, 2])
      for (const pad of ['same', 'valid', symmetric(k >> 1)] as Pad[])
        for (const hw of [
          [8, 8],
          [9, 7],
        ] as [number, number][])
          cases.push({ k, s, pad, hw });
  cases.push(
    { k: 7, s: 2, pad: 'same', hw: [16, 16] },
    { k: 7, s: 2, pad: symmetric(3), hw: [15, 16] },
    { k: 3, s: 2, pad: symmetric(2), hw: [8, 8] },
    { k: 3, s: 3, pad: 'valid', hw: [10, 11] },
    { k: 5, s: 2, pad: 'same', hw: [9, 9] },
  );
  for (const { k, s, pad, hw } of cases) {
    const name = `conv ${k}×${k} stride ${s} pad ${JSON.stringify(pad)} on ${hw.join('×')}`;
    await agrees(name, (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, pad), [
      [2, ...hw, 3],
      [k, k, 3, 4],
    ]);
  }
});

test('batch-norm gradients match tfjs in training mode (batch statistics) and inference mode', async () => {
  await agrees(
    'bn training',
    (x, g, b) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.batchNorm4d(
        x as tf.Tensor4D,
        mean as tf.Tensor1D,
        variance as tf.Tensor1D,
        b as tf.Tensor1D,
        g as tf.Tensor1D,
        1e-5,
      );
    },
    [[3, 4, 5, 6], [6], [6]],
  );
  await agrees(
    'bn inference',
    (x, m, v, g, b) =>
      tf.batchNorm4d(
        x as tf.Tensor4D,
        m as tf.Tensor1D,
        tf.add(tf.square(v), 0.5) as tf.Tensor1D,
        b as tf.Tensor1D,
        g as tf.Tensor1D,
        1e-3,
      ),
    [[2, 3, 3, 5], [5], [5], [5], [5]],
  );
});

test('the fused training-mode batch norm (wasm kernels) matches tf.moments + tf.batchNorm: outputs, statistics, gradients', async () => {
  const bn = (x: Tensor, g: Tensor, b: Tensor) => {
    const fused = batchNormTraining(tf, x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5);
    if (fused) return fused.y;
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.batchNorm4d(
      x as tf.Tensor4D,
      mean as tf.Tensor1D,
      variance as tf.Tensor1D,
      b as tf.Tensor1D,
      g as tf.Tensor1D,
      1e-5,
    );
  };
  await agrees('fused bn', bn, [[4, 5, 3, 6], [6], [6]]);
  await tf.setBackend('wasm');
  const x = tf.add(tf.mul(tf.randomNormal([3, 4, 4, 5], 0, 1, 'float32', 7), 3), 2) as tf.Tensor4D;
  const fused = batchNormTraining(tf, x, tf.ones([5]), tf.zeros([5]), 1e-5)!;
  await tf.setBackend('cpu');
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  assert.ok(relError(fused.mean.dataSync() as Float32Array, mean.dataSync() as Float32Array) < 1e-5);
  assert.ok(relError(fused.variance.dataSync() as Float32Array, variance.dataSync() as Float32Array) < 1e-5);
});

test('relu, cast, mean, max and average-pool gradients match tfjs', async () => {
  await agrees('relu', (x) => tf.relu(x), [[2, 5, 5, 3]]);
  await agrees('cast', (x) => tf.cast(x, 'float32'), [[4, 3]]);
  for (const axes of [[0, 1, 2], [1, 2], [1], [0, 2], [0, 1, 2, 3]])
    await agrees(`mean over ${axes}`, (x) => tf.mean(x, axes), [[2, 3, 4, 5]]);
  await agrees('mean keepDims', (x) => tf.mean(x, [0, 1, 2], true), [[2, 3, 4, 5]]);
  for (const axes of [null, [1, 2], [3]])
    await agrees(`max over ${axes ?? 'everything'}`, (x) => tf.max(tf.abs(x), axes ?? undefined), [[2, 3, 4, 5]]);
  await agrees('avg-pool 2×2 stride 2 (option-A shortcut)', (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'), [
    [2, 8, 6, 3],
  ]);
  await agrees('avg-pool 3×3 stride 1 same (stock path)', (x) => tf.avgPool(x as tf.Tensor4D, 3, 1, 'same'), [
    [2, 5, 5, 3],
  ]);
});

test('a pre-activation residual block with an option-A shortcut and a classifier head matches tfjs end to end', async () => {
  await agrees(
    'block',
    (x, w1, w2, g, b, wf) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const a = tf.relu(
        tf.batchNorm4d(
          x as tf.Tensor4D,
          mean as tf.Tensor1D,
          variance as tf.Tensor1D,
          b as tf.Tensor1D,
          g as tf.Tensor1D,
          1e-5,
        ),
      );
      const f = tf.conv2d(tf.relu(tf.conv2d(a, w1 as tf.Tensor4D, 2, 'same')), w2 as tf.Tensor4D, 1, 'same');
      const shortcut = tf.pad(tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'), [
        [0, 0],
        [0, 0],
        [0, 0],
        [2, 2],
      ]);
      return tf.matMul(tf.mean(tf.add(f, shortcut), [1, 2]), wf as tf.Tensor2D);
    },
    [[4, 8, 8, 4], [3, 3, 4, 8], [3, 3, 8, 8], [4], [4], [8, 10]],
  );
});

test('wasm sums and means over the batch axes agree with the cpu backend', async () => {
  const x = tf.randomNormal([6, 5, 4, 3], 1, 2);
  const cases: [number[], boolean][] = [
    [[0, 1, 2], false],
    [[1, 2], false],
    [[0, 1, 2], true],
    [[2], false],
    [[0, 3], false],
  ];
  for (const [axes, keepDims] of cases) {
    await tf.setBackend('cpu');
    const want = { sum: tf.sum(x, axes, keepDims), mean: tf.mean(x, axes, keepDims) };
    await tf.setBackend('wasm');
    const got = { sum: tf.sum(x, axes, keepDims), mean: tf.mean(x, axes, keepDims) };
    for (const op of ['sum', 'mean'] as const) {
      assert.deepEqual(got[op].shape, want[op].shape, `${op} over ${axes} keepDims ${keepDims}: shape`);
      assert.ok(
        relError(got[op].dataSync() as Float32Array, want[op].dataSync() as Float32Array) < 1e-5,
        `${op} over ${axes} keepDims ${keepDims}`,
      );
    }
  }
});

test('on wasm a clone or same-type cast outlives its source and keeps its values', async () => {
  await tf.setBackend('wasm');
  const source = tf.tensor([1, 2, 3]);
  const copies = [
    tf.clone(source),
    tf.cast(source, 'float32'),
    tf.cast(tf.tensor([4, 5], undefined, 'int32'), 'float32'),
  ];
  source.dispose();
  assert.deepEqual(Array.from(copies[0].dataSync()), [1, 2, 3]);
  assert.deepEqual(Array.from(copies[1].dataSync()), [1, 2, 3]);
  assert.equal(copies[2].dtype, 'float32');
  assert.deepEqual(Array.from(copies[2].dataSync()), [4, 5]);
  copies.forEach((c) => c.dispose());
});

test('the backward pass releases intermediate gradients as it goes, and still gets them right', async () => {
  await tf.setBackend('cpu');
  let liveAtLastNode = 0;
  // The first op of the chain is the last node the backward pass reaches: count the live tensors there.
  const probe = tf.customGrad((t) => ({
    value: tf.mul(t as Tensor, 1),
    gradFunc: (dy) => ((liveAtLastNode = tf.memory().numTensors), tf.mul(dy, 1)),
  }));
  const deep = (t: Tensor) => {
    let h = probe(t);
    for (let i = 0; i < 20; i++) h = tf.relu(tf.add(tf.mul(h, 0.9), 0.1));
    return tf.sum(h);
  };
  const x = tf.randomNormal([16, 16], 0, 1, 'float32', 3);
  const live = () => {
    tf.grad(deep)(x).dispose();
    return liveAtLastNode;
  };
  const stockLive = live();
  use(ours);
  try {
    const oursLive = live();
    assert.ok(
      oursLive < stockLive - 40,
      `${oursLive} tensors live at the end of the backward pass with early release, ${stockLive} without`,
    );
  } finally {
    use(stock);
    x.dispose();
  }
  await agrees('deep chain', (t) => deep(t), [[8, 8]]);
});

test('a dy the caller passes in is never released, and second-order gradients still work', async () => {
  use(ours);
  try {
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const x = tf.tensor([-1, 2, 3]);
      const dy = tf.tensor([5, 6, 7]);
      for (let i = 0; i < 3; i++) tf.grad((t: Tensor) => tf.relu(t))(x, dy).dispose();
      assert.deepEqual(Array.from(dy.dataSync()), [5, 6, 7]);
      const second = tf.grad((t: Tensor) => tf.grad((u: Tensor) => tf.mul(tf.mul(u, u), u))(t))(x);
      assert.deepEqual(Array.from(second.dataSync()), [-6, 12, 18]);
      tf.dispose([x, dy, second]);
    }
  } finally {
    use(stock);
  }
});
