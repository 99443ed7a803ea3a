import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AUTO_ORDER,
  BackendUnavailableError,
  GPU_BACKENDS,
  probeBackends,
  selectBackend,
} from '../../src/backends/select.js';
import { UnavailableError } from '../../src/util/errors.js';
import { memorySnapshot } from '../../src/backends/memory.js';
import type { Tensor4D } from '@tensorflow/tfjs-core';

/** Runs `fn` and returns what it printed through console.log/warn/info. */
async function consoleOutput(fn: () => Promise<unknown>): Promise<string[]> {
  const printed: string[] = [];
  const saved = { log: console.log, warn: console.warn, info: console.info };
  console.log = console.warn = console.info = (...args: unknown[]) => printed.push(args.join(' '));
  try {
    await fn();
  } finally {
    Object.assign(console, saved);
  }
  return printed;
}

test("tfjs's first-use banner goes to the log, not the console", async () => {
  const lines: string[] = [];
  const printed = await consoleOutput(() => selectBackend('cpu', { log: (l) => lines.push(l) }));
  assert.deepEqual(printed, []);
  assert.ok(
    lines.some((l) => l.startsWith('tfjs: Hi, looks like you are running TensorFlow.js in Node.js')),
    lines.join('\n'),
  );
  assert.ok(lines.some((l) => l.startsWith('backend cpu: selected')));
});

test('auto tries the backends fastest first and records why each faster one was skipped', async () => {
  const lines: string[] = [];
  const printed = await consoleOutput(() => selectBackend('auto', { log: (l) => lines.push(l) }));
  const { name, tf, attempts } = await selectBackend('auto');
  assert.deepEqual(printed, []);
  assert.deepEqual(
    attempts.map((a) => a.backend),
    AUTO_ORDER.slice(0, attempts.length),
  );
  assert.equal(attempts[attempts.length - 1].backend, name);
  assert.ok(attempts[attempts.length - 1].ok);
  for (const skipped of attempts.slice(0, -1)) {
    assert.equal(skipped.ok, false);
    assert.ok(skipped.why.length > 10, `${skipped.backend} was skipped without a reason`);
  }
  assert.equal(tf.getBackend(), name === 'tensorflow-gpu' ? 'tensorflow' : name);
  assert.ok(lines.some((l) => l.startsWith(`backend ${name}: selected`)));
});

test('an explicitly requested backend that cannot load is a user error carrying the reason and the backends that do load, never a fallback', async () => {
  const { attempts } = await selectBackend('auto');
  const loads = AUTO_ORDER.slice(attempts.length - 1);
  for (const skipped of attempts.filter((a) => !a.ok)) {
    await assert.rejects(selectBackend(skipped.backend), (err: unknown) => {
      assert.ok(err instanceof BackendUnavailableError);
      assert.ok(err instanceof UnavailableError);
      assert.ok(
        err.message.startsWith(`backend '${skipped.backend}' is not available: ${skipped.why}. Available here: `),
        err.message,
      );
      for (const name of loads) assert.match(err.message, new RegExp(`Available here: .*\\b${name}\\b`));
      return true;
    });
  }
});

test('with a GPU device, auto takes only a backend that can use the GPU and never falls back to the CPU', async () => {
  const probed = await probeBackends({ device: 'cuda' });
  assert.deepEqual(
    probed.map((a) => a.backend),
    AUTO_ORDER,
  );
  const gpu = probed.filter((a) => GPU_BACKENDS.includes(a.backend) && a.ok);
  if (gpu.length > 0) {
    assert.equal((await selectBackend('auto', { device: 'cuda' })).name, gpu[0].backend);
    return;
  }
  await assert.rejects(selectBackend('auto', { device: 'cuda' }), (err: unknown) => {
    assert.ok(err instanceof UnavailableError);
    assert.match(
      err.message,
      /^device cuda: no backend here can use a GPU \(tensorflow-gpu: .*; libtorch: .*\); train on the CPU with device: cpu/,
    );
    return true;
  });
});

test('an unknown backend name is an error that lists the valid ones', async () => {
  await assert.rejects(
    selectBackend('tpu' as 'cpu'),
    /unknown backend 'tpu' \(choose one of: auto, tensorflow-gpu, tensorflow, libtorch, wasm, cpu\)/,
  );
});

test('wasm loads with SIMD, gets the project gradients, and trains a conv layer (stock tfjs lacks its filter gradient)', async () => {
  const { name, tf, attempts } = await selectBackend('wasm');
  assert.equal(name, 'wasm');
  assert.match(attempts[0].why, /^SIMD (on|off), \d+ threads?/);
  assert.match(attempts[0].why, /gradients of Conv2D, FusedBatchNorm/);
  const before = memorySnapshot(tf).numTensors;
  const w = tf.tidy(() => tf.variable(tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 5)));
  const x = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 6);
  const { value, grads } = tf.variableGrads(
    () => tf.mean(tf.square(tf.conv2d(x as Tensor4D, w as Tensor4D, 2, 'same'))),
    [w],
  );
  assert.ok(Number.isFinite(value.dataSync()[0]));
  assert.deepEqual(grads[w.name].shape, [3, 3, 2, 4]);
  tf.dispose([value, grads[w.name], w, x]);
  assert.equal(memorySnapshot(tf).numTensors, before);
});

test('the memory snapshot reports live tensors and process memory', async () => {
  const { tf } = await selectBackend('cpu');
  const before = memorySnapshot(tf);
  const t = tf.zeros([1000]);
  const during = memorySnapshot(tf);
  t.dispose();
  assert.equal(during.numTensors, before.numTensors + 1);
  assert.equal(during.numBytes, before.numBytes + 4000);
  assert.ok(during.rssBytes > 10 * 2 ** 20 && during.peakRssBytes >= during.rssBytes);
});
