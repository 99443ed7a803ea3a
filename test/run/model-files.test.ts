import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../../src/backends/tfjs.js';
import { exportModel, readExportedModel } from '../../src/run/model-files.js';
import { tempDir } from '../helpers/tmp.js';

test('an exported model is in the TensorFlow.js weights format: tf.io.decodeWeights reads every tensor back', async () => {
  await tf.setBackend('cpu');
  const dir = join(tempDir('export'), 'model');
  const vars = [
    { name: 'conv0/W', variable: tf.variable(tf.randomNormal([3, 3, 1, 4])), decay: true, trainable: true },
    { name: 'bnlast/bn/mean', variable: tf.variable(tf.randomNormal([4])), decay: false, trainable: false },
  ];
  await exportModel(dir, vars, { model: { type: 'preact-resnet', depth: 8 } });
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const bin = readFileSync(join(dir, json.weightsManifest[0].paths[0]));
  const decoded = tf.io.decodeWeights(
    bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    json.weightsManifest[0].weights,
  );
  for (const v of vars)
    assert.deepEqual(Array.from(decoded[v.name].dataSync()), Array.from(v.variable.dataSync()), v.name);
  assert.deepEqual(readExportedModel(dir).topology, { model: { type: 'preact-resnet', depth: 8 } });
});
