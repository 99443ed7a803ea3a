import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/paths.js';
import { TINY_CONFIG } from '../helpers/tiny-run.js';
import { tempFiles } from '../helpers/tmp.js';

const BIN = join(projectRoot(), 'bin', 'epsilab.js');

/** Runs the real binary in the project folder, as a user of the shipped configs would. */
function epsilab(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: projectRoot(),
    encoding: 'utf8',
    env: { ...process.env, EPSILAB_DEBUG: '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const noStack = (text: string) => assert.doesNotMatch(text, /^\s+at .+[:(]\d+/m, 'a stack trace was printed');

test('`epsilab run` given a sweep file says it is one and to use `epsilab sweep`: exit 2, one line, no stack', () => {
  for (const args of [
    ['run', 'configs/sweeps/quickstart-lr.yaml'],
    ['print-config', 'configs/sweeps/quickstart-lr.yaml'],
  ]) {
    const r = epsilab(...args);
    assert.equal(r.code, 2, r.err);
    assert.equal(
      r.err,
      `epsilab ${args[0]}: configs/sweeps/quickstart-lr.yaml is a sweep file, not an experiment config: run its trials with \`epsilab sweep configs/sweeps/quickstart-lr.yaml\` (\`epsilab plan configs/sweeps/quickstart-lr.yaml\` lists them)\n`,
    );
    noStack(r.err);
  }
});

test('`epsilab run` or `epsilab plan` given a table spec says to use `epsilab table`: exit 2, one line, no stack', () => {
  for (const command of ['run', 'plan']) {
    const r = epsilab(command, 'configs/tables/reduced-no-res.yaml');
    assert.equal(r.code, 2, r.err);
    assert.equal(
      r.err,
      `epsilab ${command}: configs/tables/reduced-no-res.yaml is a table spec, not an experiment config: make its table with \`epsilab table configs/tables/reduced-no-res.yaml\`\n`,
    );
    noStack(r.err);
  }
});

test('`epsilab sweep` and `epsilab table` given an experiment config say to use `epsilab run`', () => {
  const file = join(tempFiles({ 'tiny.yaml': TINY_CONFIG }, 'file-kind'), 'tiny.yaml');
  const sweep = epsilab('sweep', file);
  assert.equal(sweep.code, 2, sweep.err);
  assert.equal(
    sweep.err,
    `epsilab sweep: ${file} is an experiment config, not a sweep file: train it with \`epsilab run ${file}\`\n`,
  );
  const table = epsilab('table', 'configs/sweeps/quickstart-lr.yaml');
  assert.equal(table.code, 2, table.err);
  assert.match(
    table.err,
    /^epsilab table: configs\/sweeps\/quickstart-lr\.yaml is a sweep file, not a table spec: run its trials with `epsilab sweep /,
  );
});
