import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAddon } from '../../../src/backends/libtorch/addon.js';
import { libtorchKernels } from '../../../src/backends/libtorch/kernels/index.js';
import { elementwiseCases } from './cases-elementwise.js';
import { nnCases } from './cases-nn.js';
import { reduceCases, shapeCases } from './cases-shape.js';
import { compareWithCpu, kernelsRun, skip } from './helpers.js';

for (const c of [...elementwiseCases, ...reduceCases, ...shapeCases, ...nnCases]) {
  test(`libtorch ${c.name} matches the cpu backend`, { skip }, () => compareWithCpu(c.name, c.build, c.tol));
}

test('every native libtorch kernel was checked against the cpu backend above', { skip }, () => {
  const { addon } = loadAddon();
  const missed = libtorchKernels(addon!).native.map((k) => k.kernelName).filter((name) => !kernelsRun.has(name));
  assert.deepEqual(missed, []);
});
