import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadExperiment } from '../../src/config/load.js';
import { tempDir } from '../helpers/tmp.js';

test("a config that changes a section's type through extends drops the base component's parameters", async () => {
  const dir = tempDir('extends-type');
  writeFileSync(
    join(dir, 'base.yaml'),
    `dataset: { type: cifar100, label: coarse }
model: { type: preact-resnet, depth: 20 }
optimizer: { type: momentum, momentum: 0.5 }
schedule: { type: step }
loss: { type: cross-entropy }
train: { epochs: 1, batch_size: 4 }
`,
  );
  writeFileSync(
    join(dir, 'leaf.yaml'),
    `extends: base.yaml\nexperiment: leaf\ndataset: { type: synthetic, train_size: 8 }\noptimizer: { weight_decay: 0.1 }\n`,
  );
  const { config } = await loadExperiment(join(dir, 'leaf.yaml'));
  assert.equal(config.dataset.type, 'synthetic');
  assert.equal('label' in config.dataset, false, 'cifar100 parameters are not carried over to synthetic');
  assert.equal(config.optimizer.momentum, 0.5, 'the same type still merges key by key');
  assert.equal(config.optimizer.weight_decay, 0.1);
});
