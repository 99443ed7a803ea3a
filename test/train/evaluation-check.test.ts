import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkEvaluation } from '../../src/train/evaluation-check.js';

const lastEpoch = {
  train_error: 0.25,
  discarded_cnt: 4.5,
  'res1.0/is_discarded': 1,
  'res1.1/is_discarded': 0.37,
  'res2.0/is_discarded': 0,
  'res3.2/is_discarded': 0.95,
  'res3.1/is_discarded': 0.9996,
};

test('inference far worse than batch statistics on the same images is reported, naming the gates that changed near the end of training', () => {
  const c = checkEvaluation(0.789, 0.26, lastEpoch);
  assert.deepEqual(c.gates_switching, { 'res1.1': 0.37, 'res3.2': 0.95 });
  assert.match(
    c.warning ?? '',
    /evaluation is not the trained network: test error 78\.90% in inference mode, 26\.00% on the same images with batch statistics/,
  );
  assert.match(
    c.warning ?? '',
    /gates that changed near the end of training: res1\.1 \(gated off on 37% of recent batches\), res3\.2/,
  );
  assert.match(c.warning ?? '', /moving statistics were gathered under other gates/);
  assert.match(c.warning ?? '', /train\.bn_recalibration/);
});

test('a gap within 5 points is no warning, and settled gates name the moving statistics alone', () => {
  assert.equal(checkEvaluation(0.3, 0.27, lastEpoch).warning, undefined);
  const settled = checkEvaluation(0.6, 0.3, { 'res1.0/is_discarded': 1, 'res1.1/is_discarded': 0 });
  assert.deepEqual(settled.gates_switching, {});
  assert.match(settled.warning ?? '', /Likely cause: batch-norm moving statistics gathered under other gates/);
});
