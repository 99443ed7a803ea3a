import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { config, done, epochs, resultsDir, writeRun } from '../helpers/run-folders.js';

const cli = fileURLToPath(new URL('../../src/runner/cli.js', import.meta.url));
const epsilab = (cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });

const SPEC = `title: Depth study
runs: { glob: ["cifar/*"] }
rows: [{ path: model.depth, label: Depth }]
cells:
  - { label: "Error (%)", value: metrics.test_error, format: percent }
plots:
  - { name: curves, kind: error, legend: [seed], formats: [svg, png] }
`;

function project(): string {
  const cwd = resultsDir();
  writeRun(join(cwd, 'results'), 'cifar/s0', { config: config(20, 0), result: done(0.08), metrics: epochs(3) });
  writeRun(join(cwd, 'results'), 'cifar/s1', {
    config: config(56, 0),
    result: { status: 'running', epochs_done: 1, metrics: {} },
    metrics: epochs(1),
  });
  writeFileSync(join(cwd, 'spec.yaml'), SPEC);
  return cwd;
}

test('epsilab table prints the table and writes Markdown, CSV, LaTeX and the plots', () => {
  const cwd = project();
  const out = epsilab(cwd, 'table', 'spec.yaml');
  assert.equal(out.status, 0, out.stderr);
  assert.match(
    out.stdout,
    /\| 20 \| 8\.00 \(n=1\) \|\n\| 56 \| —\[\^1\] \|\n\n\[\^1\]: not finished \(epoch 1 of 10\)/,
  );
  assert.deepEqual(readdirSync(join(cwd, 'results/tables/spec')).sort(), [
    'curves.png',
    'curves.svg',
    'spec.csv',
    'spec.md',
    'spec.tex',
  ]);
  assert.equal(readFileSync(join(cwd, 'results/tables/spec/spec.md'), 'utf8'), out.stdout);
});

test('epsilab table reports a bad spec at its line with exit code 2', () => {
  const cwd = project();
  writeFileSync(join(cwd, 'spec.yaml'), SPEC.replace('format: percent', 'format: percentage'));
  const out = epsilab(cwd, 'table', 'spec.yaml');
  assert.equal(out.status, 2);
  assert.match(out.stderr, /^spec\.yaml:5:\d+ error: .*format/);
});

test('epsilab plot draws run folders into the file named', () => {
  const cwd = project();
  const out = epsilab(cwd, 'plot', 'results/cifar/s0', 'results/cifar/s1', '--kind', 'lr', '-o', 'figs/lr.png');
  assert.equal(out.status, 0, out.stderr);
  assert.ok(readFileSync(join(cwd, 'figs/lr.png')).subarray(1, 4).equals(Buffer.from('PNG')));
  const bad = epsilab(cwd, 'plot', 'results/cifar', '--kind', 'lr');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /results\/cifar is not a run folder/);
  assert.ok(!existsSync(join(cwd, 'lr.svg')));
});
