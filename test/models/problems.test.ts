import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preactCifarProblems, preactImagenetProblems } from '../../src/models/problems.js';

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
