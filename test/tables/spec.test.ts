import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDiagnostics } from '../../src/util/diagnostics.js';
import { ConfigError } from '../../src/util/errors.js';
import { globFolders } from '../../src/tables/glob.js';
import { loadTableSpec } from '../../src/tables/spec.js';
import { resultsDir } from '../helpers/run-folders.js';

function specFile(text: string): string {
  const file = join(resultsDir(), 'spec.yaml');
  writeFileSync(file, text);
  return file;
}

async function diagnostics(text: string): Promise<string> {
  const err = await loadTableSpec(specFile(text)).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
  return formatDiagnostics(err.diagnostics, '/');
}

test('a valid spec loads with its defaults filled in', async () => {
  const spec = await loadTableSpec(
    specFile(
      'runs: { glob: ["cifar/*"] }\nrows: [{ path: model.depth }]\ncells: [{ label: Error, value: metrics.test_error }]\n',
    ),
  );
  assert.equal(spec.runs.results, 'results');
  assert.deepEqual(spec.cells[0], {
    label: 'Error',
    value: 'metrics.test_error',
    from: 'result',
    where: {},
    aggregate: 'mean',
    format: 'number',
    decimals: 2,
    std: true,
    n: true,
  });
  assert.deepEqual(spec.rows[0], { path: 'model.depth', label: '', names: {} });
});

test('mistakes are reported at their line and column', async () => {
  const text = await diagnostics(
    'runs: { glob: ["x/*"] }\ncells:\n  - label: Error\n    value: metrics.test_error\n    aggregate: average\n    colour: red\n',
  );
  assert.match(text, /spec\.yaml:5:\d+ error: .*aggregate/);
  assert.match(text, /spec\.yaml:6:\d+ error: .*colour/);
});

test('a spec that selects no runs says so', async () => {
  assert.match(
    await diagnostics('runs: {}\nplots: [{ name: p, kind: lr, runs: { results: r } }]\n'),
    /spec\.yaml:1:7 error: runs selects no runs: give runs\.glob or runs\.sweeps/,
  );
  assert.match(
    await diagnostics('runs: {}\nplots: [{ name: p, kind: lr, runs: { results: r } }]\n'),
    /spec\.yaml:2:\d+ error: plots\.0\.runs selects no runs/,
  );
});

test('globs match run folders by segment, with ** for any depth', () => {
  const root = resultsDir();
  for (const d of ['cifar10-e2/a', 'cifar10-e2/b', 'cifar100-e2/a', 'svhn/a', 'sweep/t/deep'])
    mkdirSync(join(root, d), { recursive: true });
  assert.deepEqual(globFolders(root, 'cifar10-*/*'), ['cifar10-e2/a', 'cifar10-e2/b']);
  assert.deepEqual(globFolders(root, 'cifar10?-e2/a'), ['cifar100-e2/a']);
  assert.deepEqual(globFolders(root, '**/deep'), ['sweep/t/deep']);
  assert.deepEqual(globFolders(root, 'nothing/*'), []);
});
