import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadExperiment } from '../../src/config/load.js';
import { ConfigError } from '../../src/util/errors.js';
import { projectRoot } from '../../src/util/paths.js';
import { tempFiles } from '../helpers/tmp.js';

const QUICKSTART_BASE = 'epsilab/configs/_base/fashion-mnist-quickstart.yaml';

test('extends names a shipped base by package path, from a folder where epsilab is not installed', async () => {
  const dir = tempFiles({ 'x.yaml': `extends: ${QUICKSTART_BASE}\nexperiment: mine\ntrain: { epochs: 1 }\n` });
  const { config, provenance } = await loadExperiment(join(dir, 'x.yaml'));
  assert.equal(config.model.type, 'preact-resnet');
  assert.equal((config.model as { depth?: number }).depth, 14);
  assert.equal(config.train.epochs, 1, 'the file wins over its base');
  assert.equal(config.train.batch_size, 64);
  const base = join(projectRoot(), 'configs', '_base', 'fashion-mnist-quickstart.yaml');
  const origin = provenance.describe('train.batch_size', join(dir, 'elsewhere'));
  assert.match(origin, new RegExp(`^${base}:\\d+:\\d+ \\(extended by ${join(dir, 'x.yaml')}\\)$`));
});

test('extends resolves a package installed in the config’s project through node_modules and its exports', async () => {
  const dir = tempFiles({
    'node_modules/lab-bases/package.json': JSON.stringify({ name: 'lab-bases', exports: { './*': './shared/*' } }),
    'node_modules/lab-bases/shared/fmnist.yaml': `extends: ${QUICKSTART_BASE}\ntrain: { epochs: 2 }\n`,
    'configs/x.yaml': 'extends: lab-bases/fmnist.yaml\nexperiment: mine\n',
  });
  const { config } = await loadExperiment(join(dir, 'configs', 'x.yaml'));
  assert.equal(config.train.epochs, 2);
  assert.equal(config.optimizer.type, 'momentum', 'the package base extends epsilab’s base in turn');
});

test('a file at the relative path wins over a package of that name; a path found nowhere is reported', async () => {
  const dir = tempFiles({
    [`configs/${QUICKSTART_BASE}`]: `extends: ${QUICKSTART_BASE}\ntrain: { epochs: 5 }\n`,
    'configs/x.yaml': `extends: ${QUICKSTART_BASE}\nexperiment: mine\n`,
    'configs/missing.yaml': 'extends: no-such-package/base.yaml\nexperiment: mine\n',
  });
  assert.equal((await loadExperiment(join(dir, 'configs', 'x.yaml'))).config.train.epochs, 5);
  await assert.rejects(loadExperiment(join(dir, 'configs', 'missing.yaml')), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.diagnostics[0].message, /^cannot read .*configs\/no-such-package\/base\.yaml: no such file$/);
    return true;
  });
});
