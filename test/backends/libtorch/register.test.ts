import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findBackendFactory } from '@tensorflow/tfjs-core';
import { loadAddon } from '../../../src/backends/libtorch/addon.js';
import { registerLibtorchBackend } from '../../../src/backends/libtorch/index.js';

test('without the addon, registration says why and registers no backend', async () => {
  const saved = process.env.EPSILAB_LIBTORCH_ADDON;
  process.env.EPSILAB_LIBTORCH_ADDON = '/nonexistent/epsilab_torch.node';
  try {
    const status = await registerLibtorchBackend();
    assert.equal(status.ok, false);
    assert.match(status.why, /not built/);
    assert.equal(findBackendFactory('libtorch'), null);
  } finally {
    if (saved === undefined) delete process.env.EPSILAB_LIBTORCH_ADDON;
    else process.env.EPSILAB_LIBTORCH_ADDON = saved;
  }
});

const { addon } = loadAddon();
const noCuda = !addon ? 'libtorch addon not built' : addon.configure({}).cuda ? 'this libtorch has CUDA' : false;

test(
  'a CUDA device is refused with the reason when this libtorch has no CUDA, and cpu still registers',
  { skip: noCuda },
  async () => {
    const cpu = await registerLibtorchBackend({ device: 'cpu', threads: 1 });
    assert.ok(cpu.ok, cpu.why);
    assert.match(cpu.why, /on cpu .*1 thread \(train\.threads\)/);
    const cuda = await registerLibtorchBackend({ device: 'cuda' });
    assert.equal(cuda.ok, false);
    assert.match(
      cuda.why,
      /^device cuda needs a CUDA build of libtorch, and libtorch \S+ .*is CPU-only: install PyTorch with CUDA and rerun `npm install`/,
    );
    assert.notEqual(findBackendFactory('libtorch'), null);
  },
);
