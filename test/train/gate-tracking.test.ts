import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GateTracking } from '../../src/train/gate-tracking.js';

test('the moving average matches tensorpack: decay min(0.95, (1+t)/(10+t)) from zero', () => {
  const t = new GateTracking(['res1.0', 'res1.1']);
  let ema = 0;
  for (let step = 0; step < 200; step++) {
    t.update([0, 1], [0.1, 3], [0.01, 1]);
    const d = Math.min(0.95, (1 + step) / (10 + step));
    ema = d * ema + (1 - d);
  }
  const s = t.report();
  assert.ok(Math.abs(s['res1.0/is_discarded'] - ema) < 1e-12);
  assert.equal(s['res1.1/is_discarded'], 0);
  assert.ok(Math.abs(s.discarded_cnt - ema) < 1e-12);
  assert.ok(Math.abs(s.discarded_ratio - ema / 2) < 1e-12, 'CIFAR blocks divide by the blocks, as ImageNet ones do');
  const imagenet = new GateTracking(['group0/block0', 'group0/block1']);
  imagenet.update([0, 1], [0, 3], [0, 1]);
  assert.equal(
    imagenet.report().discarded_ratio,
    imagenet.report().discarded_cnt / 2,
    'the ImageNet code divides by the blocks',
  );
});

test('a block counts as discarded for compression only once its average prints as 1 (≥ 0.999995)', () => {
  const t = new GateTracking(['a', 'b']);
  for (let i = 0; i < 300; i++) t.update([1, 1], [3, 3], [1, 1]);
  for (let i = 0; i < 200; i++) t.update([0, 1], [0, 3], [0, 1]);
  assert.deepEqual(t.discarded(), [], 'after 200 gated-off steps 1 − 0.95^200 ≈ 0.99996 still prints below 1');
  for (let i = 0; i < 50; i++) t.update([0, 1], [0, 3], [0, 1]);
  assert.deepEqual(t.discarded(), ['a']);
  const copy = new GateTracking(['a', 'b']);
  copy.restore(t.state());
  assert.deepEqual(copy.report(), t.report());
});
