import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadExperiment } from '../../src/config/load.js';
import { ConfigError } from '../../src/util/errors.js';
import { tempDir } from '../helpers/tmp.js';

async function diagnostics(model: string): Promise<[string, number, number][]> {
  const file = join(tempDir('model'), 'x.yaml');
  writeFileSync(
    file,
    `experiment: x\ndataset: { type: synthetic }\nmodel:\n${model}\noptimizer: { type: momentum }\nschedule: { type: piecewise, values: [[0, 0.1]] }\nloss: { type: cross-entropy }\n`,
  );
  try {
    await loadExperiment(file);
    return [];
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.diagnostics.map((d) => [d.message, d.pos!.line, d.pos!.col]);
  }
}

test('a depth that is not 6n+2 and a side head after a missing block are config errors at their lines', async () => {
  assert.deepEqual(await diagnostics('  type: epsilon-resnet\n  depth: 110'), []);
  const [depth] = await diagnostics('  type: epsilon-resnet\n  depth: 21');
  assert.match(depth[0], /depth must be 6n\+2/);
  assert.deepEqual(depth.slice(1), [5, 10]);
  const [side] = await diagnostics('  type: preact-resnet\n  depth: 14\n  side_output: { after: res2.5 }');
  assert.match(side[0], /res2\.5 is not a block/);
  assert.equal(side[1], 6);
  const [imagenet] = await diagnostics('  type: preact-resnet-imagenet\n  depth: 18\n  side_output: { weight: 0.1 }');
  assert.match(imagenet[0], /side_output.after/);
});

test('train.towers must split the batch equally and every epoch ends on full batches', async () => {
  const file = join(tempDir('towers'), 'x.yaml');
  const write = (train: string) =>
    writeFileSync(
      file,
      `experiment: x\ndataset: { type: synthetic }\nmodel: { type: epsilon-resnet, depth: 8 }\noptimizer: { type: momentum }\nschedule: { type: piecewise, values: [[0, 0.1]] }\nloss: { type: cross-entropy }\ntrain: ${train}\n`,
    );
  write('{ batch_size: 12, towers: 4 }');
  assert.equal((await loadExperiment(file)).config.train.towers, 4);
  write('{ batch_size: 10, towers: 4, drop_remainder: false }');
  await assert.rejects(loadExperiment(file), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(
      e.diagnostics.map((d) => [d.message.split(':')[0], d.pos?.line]),
      [
        ['train.batch_size (10) must split into train.towers (4) equal groups', 7],
        ['train.towers (4) needs train.drop_remainder', 7],
      ],
    );
    return true;
  });
});

test("a colour transform's channel_order must match the dataset's", async () => {
  const file = join(tempDir('order'), 'x.yaml');
  const write = (dataset: string, jitter: string) =>
    writeFileSync(
      file,
      `experiment: x\ndataset: { type: image-folder, path: imgs${dataset} }\ntransforms:\n  train:\n    - { type: color-jitter${jitter} }\n  test: []\nmodel: { type: epsilon-resnet, depth: 8 }\noptimizer: { type: momentum }\nschedule: { type: piecewise, values: [[0, 0.1]] }\nloss: { type: cross-entropy }\n`,
    );
  write(', channel_order: bgr', ', channel_order: bgr');
  assert.equal((await loadExperiment(file)).config.dataset.channel_order, 'bgr');
  write(', channel_order: bgr', '');
  await assert.rejects(loadExperiment(file), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(
      e.diagnostics[0].message,
      /transforms\.train\[0\]\.channel_order is rgb but dataset\.channel_order is bgr/,
    );
    assert.equal(e.diagnostics[0].pos?.line, 5);
    return true;
  });
});
