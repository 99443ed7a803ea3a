import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { PNG } from 'pngjs';
import { drawPlot } from '../../src/tables/draw-plot.js';
import { plotPoints } from '../../src/tables/plot-data.js';
import { selectRuns } from '../../src/tables/runs.js';
import { PlotSpec } from '../../src/tables/spec.js';
import { config, done, epochs, resultsDir, writeRun } from '../helpers/run-folders.js';

function twoRuns(): string {
  const root = resultsDir();
  writeRun(root, 'cifar/s0', { config: config(20, 0), result: done(0.1), metrics: epochs(4) });
  writeRun(root, 'cifar/s1', { config: config(20, 1), result: done(0.1), metrics: epochs(4) });
  return root;
}

const plotSpec = (s: Record<string, unknown>) => Value.Default(PlotSpec, s) as PlotSpec;

test('error curves: test and train error per run, named by the legend paths', () => {
  const { runs } = selectRuns({ results: twoRuns(), glob: ['cifar/*'], sweeps: [], where: {} });
  const points = plotPoints('error', runs, ['seed']);
  assert.equal(points.length, 2 * 4 * 2);
  assert.deepEqual(points.slice(0, 2), [
    { epoch: 1, value: 0.6, series: 'seed=0', line: 'test' },
    { epoch: 1, value: 0.5, series: 'seed=0', line: 'train' },
  ]);
  assert.deepEqual([...new Set(plotPoints('lr', runs, []).map((p) => p.series))], ['cifar/s0', 'cifar/s1']);
  assert.equal(plotPoints('lr', runs, ['model.type', 'model.epsilon'])[0].series, 'type=epsilon-resnet, epsilon=2.5');
});

test('teacher vs student: stages are laid end to end', () => {
  const root = resultsDir();
  const lines = [
    ...epochs(3, { stage: 'teacher' }),
    ...epochs(2, { stage: 'student-1' }),
    ...epochs(2, { stage: 'finetune' }),
  ];
  writeRun(root, 'nores/r', { config: config(20, 0), result: done(0.1), metrics: lines });
  const points = plotPoints(
    'teacher-student',
    selectRuns({ results: root, glob: ['*/*'], sweeps: [], where: {} }).runs,
    [],
  );
  assert.deepEqual(
    points.map((p) => [p.epoch, p.series]),
    [
      [1, 'nores/r · teacher'],
      [2, 'nores/r · teacher'],
      [3, 'nores/r · teacher'],
      [4, 'nores/r · student-1'],
      [5, 'nores/r · student-1'],
      [6, 'nores/r · finetune'],
      [7, 'nores/r · finetune'],
    ],
  );
});

test('a plot is written as SVG and as PNG', async () => {
  const root = twoRuns();
  const out = join(root, 'figures');
  const { runs } = selectRuns({ results: root, glob: ['cifar/*'], sweeps: [], where: {} });
  const files = await drawPlot(
    plotSpec({ name: 'curves', kind: 'error', title: 'Error vs epoch', legend: ['seed'], formats: ['svg', 'png'] }),
    runs,
    out,
  );
  assert.deepEqual(files, [join(out, 'curves.svg'), join(out, 'curves.png')]);
  const svg = readFileSync(files[0], 'utf8');
  assert.match(svg, /^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  for (const text of ['Error vs epoch', 'seed=0', 'seed=1', 'Epoch', 'train'])
    assert.ok(svg.includes(`>${text}<`), `SVG shows ${text}`);
  const png = PNG.sync.read(readFileSync(files[1]));
  assert.ok(png.width > 480 && png.height > 300, `PNG is ${png.width}×${png.height}`);
});

test('a plot with no data says which curve is missing', async () => {
  const root = resultsDir();
  writeRun(root, 'cifar/s0', { config: config(20, 0), result: done(0.1), metrics: [{ epoch: 1, lr: 0.1 }] });
  const { runs } = selectRuns({ results: root, glob: ['cifar/*'], sweeps: [], where: {} });
  await assert.rejects(
    drawPlot(plotSpec({ name: 'd', kind: 'discarded' }), runs, root),
    /plot d: none of the 1 selected runs has discarded_cnt in its metrics\.jsonl/,
  );
});
