import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { initProject, STARTER_CONFIG } from '../../src/app/init.js';
import { loadExperiment } from '../../src/config/load.js';
import { projectRoot } from '../../src/util/paths.js';
import { tempDir } from '../helpers/tmp.js';

const BIN = join(projectRoot(), 'bin', 'epsilab.js');
const epsilab = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });

test('init writes a starter config that extends a shipped base, a sweep over it and a .gitignore for results', async () => {
  const dir = join(tempDir('init'), 'my-research');
  assert.deepEqual(initProject(dir), [STARTER_CONFIG, join('configs', 'sweep-lr.yaml'), '.gitignore']);
  const configFile = join(dir, STARTER_CONFIG);
  const text = readFileSync(configFile, 'utf8');
  assert.match(text, /^extends: epsilab\/configs\/_base\/fashion-mnist-quickstart\.yaml$/m);
  for (const [file, schema] of [
    [configFile, 'experiment.schema.json'],
    [join(dir, 'configs', 'sweep-lr.yaml'), 'sweep.schema.json'],
  ]) {
    const line = /^# yaml-language-server: \$schema=(.+)$/m.exec(readFileSync(file, 'utf8'));
    assert.ok(line, `${file} has no schema line`);
    assert.equal(resolve(dirname(file), line[1]), join(projectRoot(), 'schemas', schema), 'editors find the schema');
  }
  const { config } = await loadExperiment(configFile);
  assert.equal(config.dataset.type, 'fashion-mnist');
  assert.equal(config.experiment, 'quickstart');
  assert.match(readFileSync(join(dir, '.gitignore'), 'utf8'), /^results\/$/m);

  const plan = epsilab(['plan', 'configs/sweep-lr.yaml'], dir);
  assert.equal(plan.status, 0, plan.stderr);
  assert.match(plan.stdout, /^base +configs\/quickstart\.yaml$/m);
  assert.match(plan.stdout, /^trials +4 \(4 to run\)$/m);
});

test('init writes nothing into a folder that already has one of its files, and exits 2 saying which', () => {
  const dir = tempDir('init-again');
  const first = epsilab(['init'], dir);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /^next: npx epsilab run configs\/quickstart\.yaml$/m);
  const before = readFileSync(join(dir, STARTER_CONFIG), 'utf8');
  const again = epsilab(['init', '.'], dir);
  assert.equal(again.status, 2);
  assert.match(
    again.stderr,
    /^epsilab init: configs\/quickstart\.yaml, configs\/sweep-lr\.yaml, \.gitignore already exist in .+; init writes only new files/,
  );
  assert.equal(readFileSync(join(dir, STARTER_CONFIG), 'utf8'), before);
  assert.equal(existsSync(join(dir, 'results')), false);
});
