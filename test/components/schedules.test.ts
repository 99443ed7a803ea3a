import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { adaptiveOnDiscard } from '../../src/components/schedule/adaptive-on-discard.js';
import { piecewise } from '../../src/components/schedule/piecewise.js';
import { step } from '../../src/components/schedule/step.js';
import { cosine } from '../../src/components/schedule/cosine.js';
import type { BuildContext } from '../../src/registry/component.js';
import type { Schedule } from '../../src/train/types.js';

const ctx: BuildContext = { tf, seed: 0, configDir: '.', facts: { epochs: 10 }, log: () => {} };
const CIFAR = {
  initial: [
    [0, 0.1],
    [82, 0.01],
    [123, 0.001],
    [300, 0.0002],
  ] as [number, number][],
  after_discard: [
    [0, 0.1],
    [41, 0.01],
    [61, 0.001],
    [150, 0.0002],
  ] as [number, number][],
  threshold: 1,
  last_k: 1,
  metric: 'discarded_cnt',
};

/** Feeds one discarded_cnt per epoch and returns the learning rate of every epoch (epoch 0 first). */
function run(s: Schedule, counts: number[]): number[] {
  const lrs = [s.valueFor(0)];
  counts.forEach((c, e) => {
    s.observe!(e, { discarded_cnt: c });
    lrs.push(s.valueFor(e + 1));
  });
  return lrs;
}

test('adaptive-on-discard follows the initial schedule while nothing is discarded', () => {
  const lrs = run(adaptiveOnDiscard.build(CIFAR, ctx) as Schedule, new Array(130).fill(0));
  assert.equal(lrs[0], 0.1);
  assert.equal(lrs[81], 0.1);
  assert.equal(lrs[82], 0.01, 'the value set after 82 epochs applies to the 83rd epoch (0-based 82)');
  assert.equal(lrs[122], 0.01);
  assert.equal(lrs[123], 0.001);
});

test('a rise of the discarded count by the threshold resets to 0.1 and restarts the faster schedule', () => {
  const counts = new Array(150).fill(0);
  for (let e = 99; e < 150; e++) counts[e] = 1; // the EMA at the end of epoch 100 (index 99) rises from 0 to 1
  const s = adaptiveOnDiscard.build(CIFAR, ctx) as Schedule;
  const lrs = run(s, counts);
  assert.equal(lrs[99], 0.01, 'before the reset the initial schedule had decayed at 82');
  assert.equal(lrs[100], 0.1, 'reset takes effect from the next epoch');
  assert.equal(lrs[140], 0.1);
  assert.equal(lrs[141], 0.01, 'after_discard pairs are offset by the reset epoch (100 + 41)');
  assert.deepEqual(s.events!(), ['learning rate reset to 0.1 after epoch 100 (discarded_cnt 0.000 → 1.000)']);
});

test('repeated resets restart the schedule each time, and a rise below the threshold does not', () => {
  const params = {
    ...CIFAR,
    after_discard: [
      [0, 0.1],
      [2, 0.01],
    ] as [number, number][],
  };
  const counts = [0, 0, 0.5, 1.6, 1.6, 1.6, 2.6, 2.6, 2.6, 2.6];
  const s = adaptiveOnDiscard.build(params, ctx) as Schedule;
  const lrs = run(s, counts);
  // 0 → 0.5 is below the threshold; 0.5 → 1.6 resets after epoch 4, 1.6 → 2.6 after epoch 7.
  assert.deepEqual(lrs, [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.1, 0.1, 0.01, 0.01]);
  const state = s.state!();
  const copy = adaptiveOnDiscard.build(params, ctx) as Schedule;
  copy.restore!(state);
  assert.equal(copy.valueFor(10), s.valueFor(10));
});

test('piecewise values apply from their epoch on; initial covers the epochs before the first pair', () => {
  const s = piecewise.build(
    {
      values: [
        [1, 0.1],
        [82, 0.01],
      ],
      initial: 0.01,
      warmup_epochs: 0,
      warmup_start_factor: 0.1,
    },
    ctx,
  ) as Schedule;
  assert.deepEqual(
    [0, 1, 81, 82, 500].map((e) => s.valueFor(e)),
    [0.01, 0.1, 0.1, 0.01, 0.01],
  );
});

test('step multiplies by gamma at each milestone (the No-Res seed: ×0.1 when epoch+1 is 15 or 25)', () => {
  const s = step.build(
    { initial: 0.1, gamma: 0.1, milestones: [14, 24], warmup_epochs: 0, warmup_start_factor: 0.1 },
    ctx,
  ) as Schedule;
  const v = [13, 14, 23, 24, 29].map((e) => s.valueFor(e));
  v.forEach((x, i) => assert.ok(Math.abs(x - [0.1, 0.01, 0.01, 0.001, 0.001][i]) < 1e-12));
});

test('cosine anneals over train.epochs by default, with linear warm-up on top', () => {
  const s = cosine.build(
    { initial: 1, final: 0, per_step: false, warmup_epochs: 2, warmup_start_factor: 0.5 },
    ctx,
  ) as Schedule;
  assert.ok(Math.abs(s.valueFor(5) - 0.5) < 1e-12);
  assert.equal(s.valueFor(10), 0);
  assert.ok(Math.abs(s.valueFor(0) - 0.5) < 1e-12, 'warm-up starts at half the scheduled value');
  assert.ok(Math.abs(s.valueFor(1) - (0.75 * (1 + Math.cos(Math.PI / 10))) / 2) < 1e-12);
  assert.equal(s.valueAt, undefined, 'per epoch unless per_step');
});

test('a per-step cosine moves along the curve inside an epoch', () => {
  const s = cosine.build(
    { initial: 1, final: 0, per_step: true, warmup_epochs: 0, warmup_start_factor: 0.1 },
    ctx,
  ) as Schedule;
  assert.equal(s.valueAt!(0, 0), s.valueFor(0));
  assert.ok(Math.abs(s.valueAt!(4, 0.5) - (1 + Math.cos((Math.PI * 4.5) / 10)) / 2) < 1e-12);
});
