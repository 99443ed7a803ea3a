import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { buildTable } from '../../src/tables/build-table.js';
import { renderCsv } from '../../src/tables/render-csv.js';
import { renderLatex } from '../../src/tables/render-latex.js';
import { renderMarkdown } from '../../src/tables/render-markdown.js';
import { selectRuns } from '../../src/tables/runs.js';
import { EpsilabError } from '../../src/util/errors.js';
import { TableSpec } from '../../src/tables/spec.js';
import { config, done, epochs, resultsDir, writeRun } from '../helpers/run-folders.js';

const spec = (s: Record<string, unknown>) => Value.Default(TableSpec, structuredClone(s)) as TableSpec;

/** Depth 20: two finished seeds; 32: finished without the metric; 56: running; 110: failed; 164: no run. */
function depthStudy(): string {
  const root = resultsDir();
  writeRun(root, 'cifar/d20-s0', { config: config(20, 0), result: done(0.08), metrics: epochs(10) });
  writeRun(root, 'cifar/d20-s1', { config: config(20, 1), result: done(0.1), metrics: epochs(10) });
  writeRun(root, 'cifar/d32-s0', { config: config(32, 0), result: { ...done(0), metrics: {} } });
  writeRun(root, 'cifar/d56-s0', {
    config: config(56, 0),
    result: { status: 'running', experiment: 'cifar', run_id: 'x', epochs_done: 3, metrics: {} },
  });
  writeRun(root, 'cifar/d110-s0', {
    config: config(110, 0),
    result: { status: 'failed', experiment: 'cifar', run_id: 'x', epochs_done: 0, metrics: {}, error: 'out of memory' },
  });
  writeRun(root, 'other/d20-s0', { config: { ...config(20, 0), experiment: 'other' }, result: done(0.5) });
  return root;
}

const errorTable = (results: string) =>
  spec({
    title: 'ε-ResNet depth study',
    runs: { results, glob: ['cifar/*'] },
    rows: [{ path: 'model.depth', label: 'Depth', values: [20, 32, 56, 110, 164] }],
    cells: [
      {
        label: 'Error (%)',
        value: 'metrics.test_error',
        format: 'percent',
        reference: { values: { '20': 0.085, '56': 0.07 } },
      },
    ],
  });

test('cells aggregate seeds as mean ± std (n) beside the reference and the difference', () => {
  const model = buildTable(errorTable(depthStudy()), selectRuns(errorTable(depthStudy()).runs));
  assert.deepEqual(model.columns, ['Error (%)', 'Paper', 'Δ vs Paper']);
  const [d20] = model.rows;
  assert.deepEqual(d20.labels, ['20']);
  assert.deepEqual(
    d20.entries.map((e) => e.text),
    ['9.00 ± 1.41 (n=2)', '8.50', '+0.50'],
  );
  assert.equal(d20.entries[0].n, 2);
  assert.ok(Math.abs(d20.entries[0].value! - 0.09) < 1e-12);
  assert.equal(d20.entries[0].note, undefined);
});

test('every empty cell says why: metric missing, not finished, failed, no run, no reference', () => {
  const s = errorTable(depthStudy());
  const notes = buildTable(s, selectRuns(s.runs)).rows.map((r) => r.entries.map((e) => e.note));
  assert.deepEqual(notes[1], [
    'metric metrics.test_error missing from result.json',
    'the spec gives no reference value here',
    'needs both our value and the reference',
  ]);
  assert.equal(notes[2][0], 'not finished (epoch 3 of 10)');
  assert.equal(notes[3][0], 'failed: out of memory');
  assert.equal(notes[4][0], 'no run matches');
});

test('Markdown shows — with a footnote for each distinct reason', () => {
  const s = errorTable(depthStudy());
  const md = renderMarkdown(buildTable(s, selectRuns(s.runs)));
  assert.match(
    md,
    /^\*\*ε-ResNet depth study\*\*\n\n\| Depth \| Error \(%\) \| Paper \| Δ vs Paper \|\n\| --- \| ---: \| ---: \| ---: \|\n/,
  );
  assert.match(md, /\| 20 \| 9\.00 ± 1\.41 \(n=2\) \| 8\.50 \| \+0\.50 \|/);
  assert.match(md, /\| 56 \| —\[\^4\] \| 7\.00 \| —\[\^3\] \|/);
  assert.match(md, /\[\^4\]: not finished \(epoch 3 of 10\)/);
  assert.match(md, /\[\^5\]: failed: out of memory/);
  assert.match(md, /\[\^6\]: no run matches/);
  assert.equal(md.match(/\[\^3\]: needs both/g)?.length, 1, 'one footnote per distinct reason');
});

test('CSV has one line per cell with the raw number and the reason', () => {
  const s = errorTable(depthStudy());
  const lines = renderCsv(buildTable(s, selectRuns(s.runs)))
    .trim()
    .split('\n');
  assert.equal(lines[0], 'Depth,column,value,std,n,text,note');
  assert.equal(lines.length, 1 + 5 * 3);
  assert.match(lines[1], /^20,Error \(%\),0\.09\d*,0\.0141\d*,2,9\.00 ± 1\.41 \(n=2\),$/);
  assert.equal(lines[10], '110,Error (%),,,,,failed: out of memory');
});

test('LaTeX is a booktabs tabular with escaped text and footnote marks', () => {
  const s = errorTable(depthStudy());
  s.rows[0].names = { '20': 'ResNet_20 & co' };
  const tex = renderLatex(buildTable(s, selectRuns(s.runs)));
  assert.match(
    tex,
    /\\begin\{tabular\}\{lrrr\}\n\\toprule\nDepth & Error \(\\%\) & Paper & \$\\Delta\$ vs Paper \\\\\n\\midrule\n/,
  );
  assert.match(tex, /ResNet\\_20 \\& co & 9\.00 \$\\pm\$ 1\.41 \(n=2\) & 8\.50 & \+0\.50 \\\\/);
  assert.match(tex, /56 & ---\\textsuperscript\{4\} &/);
  assert.match(tex, /\\bottomrule\n\\end\{tabular\}\n/);
  assert.match(tex, /\\textsuperscript\{5\}~failed: out of memory\\par/);
});

test('a partial cell says which runs it left out; a cell mixing configs says how they differ', () => {
  const root = resultsDir();
  writeRun(root, 'cifar/a', { config: config(20, 0), result: done(0.1) });
  writeRun(root, 'cifar/b', { config: config(20, 1, { optimizer: { lr: 0.2 } }), result: done(0.2) });
  writeRun(root, 'cifar/c', { config: config(20, 2), result: { status: 'interrupted', epochs_done: 4, metrics: {} } });
  const s = spec({
    runs: { results: root, glob: ['cifar/*'] },
    rows: [{ path: 'model.depth' }],
    cells: [{ label: 'err', value: 'metrics.test_error', std: false, n: false }],
  });
  const [entry] = buildTable(s, selectRuns(s.runs)).rows[0].entries;
  assert.equal(entry.text, '0.15');
  assert.equal(
    entry.note,
    'from 2 of 3 runs; left out: interrupted (epoch 4 of 10); combines runs whose configs also differ in optimizer.lr',
  );
});

test('columns pivot on a config value; cells can filter and read the last metrics.jsonl value', () => {
  const root = resultsDir();
  for (const eps of [2, 2.5]) {
    for (const seed of [0, 1]) {
      const cfg = config(20, seed);
      (cfg.model as Record<string, unknown>).epsilon = eps;
      writeRun(root, `cifar/e${eps}-s${seed}`, {
        config: cfg,
        result: done(0.1),
        metrics: epochs(4, { discarded_cnt: eps * 2 + seed }),
      });
    }
  }
  const s = spec({
    runs: { results: root, glob: ['**'], where: { 'model.type': 'epsilon-resnet' } },
    rows: [{ path: 'model.depth' }],
    columns: [{ path: 'model.epsilon', names: { '2': 'ε = 2' } }],
    cells: [
      {
        label: 'Discarded',
        value: 'discarded_cnt',
        from: 'last-epoch',
        aggregate: 'max',
        decimals: 0,
        where: { seed: [0, 1] },
      },
    ],
  });
  const model = buildTable(s, selectRuns(s.runs));
  assert.deepEqual(model.columns, ['Discarded (ε = 2)', 'Discarded (model.epsilon=2.5)']);
  assert.deepEqual(
    model.rows[0].entries.map((e) => e.text),
    ['5 (n=2)', '6 (n=2)'],
  );
});

test('sweep trials: the ledger says a trial failed or has not started', () => {
  const root = resultsDir();
  writeRun(root, 'sw/t1', { config: config(20, 0), result: { status: 'running', epochs_done: 2, metrics: {} } });
  const entry = (id: string, state: string, extra = {}) => ({
    id,
    slug: `seed=${id}`,
    dir: id,
    state,
    attempts: 1,
    created_at: '',
    history: [],
    ...extra,
  });
  const ledger = {
    version: 1,
    sweep: 'sw',
    updated_at: '',
    trials: { t1: entry('t1', 'failed', { exit_code: 137, reason: 'OUT_OF_MEMORY' }), t2: entry('t2', 'pending') },
  };
  writeFileSync(join(root, 'sw', 'ledger.json'), JSON.stringify(ledger));
  const s = spec({
    runs: { results: root, sweeps: ['sw'] },
    rows: [{ path: 'model.depth' }],
    cells: [{ label: 'err', value: 'metrics.test_error' }],
  });
  const model = buildTable(s, selectRuns(s.runs));
  assert.equal(model.rows[0].entries[0].note, 'failed (exit code 137, OUT_OF_MEMORY)');
  assert.deepEqual(model.notes, ['sweep sw: trial seed=t2 has no run folder yet (pending)']);
});

test('ASHA sweep trials: a trial successive halving stopped early is left out of the numbers, with its rung and rank', () => {
  const root = resultsDir();
  writeRun(root, 'asha/t1', {
    config: config(20, 0),
    result: { status: 'done', epochs_done: 9, metrics: { test_error: 0.2 } },
  });
  writeRun(root, 'asha/t2', {
    config: config(20, 1),
    result: { status: 'done', epochs_done: 1, metrics: { test_error: 0.5 } },
  });
  const entry = (id: string, asha: object) => ({
    id,
    slug: `seed=${id}`,
    dir: id,
    state: 'done',
    attempts: 1,
    created_at: '',
    history: [],
    asha,
  });
  const decision = { at: '', rung: 0, value: 0.5, rank: 2, of: 2 };
  const ledger = {
    version: 1,
    sweep: 'asha',
    updated_at: '',
    trials: {
      t1: entry('t1', { rung: 2, results: {}, decisions: [{ ...decision, decision: 'promoted', rank: 1 }] }),
      t2: entry('t2', { rung: 0, results: {}, decisions: [{ ...decision, decision: 'stopped' }] }),
    },
  };
  writeFileSync(join(root, 'asha', 'ledger.json'), JSON.stringify(ledger));
  const s = spec({
    runs: { results: root, sweeps: ['asha'] },
    rows: [{ path: 'model.depth' }],
    cells: [{ label: 'err', value: 'metrics.test_error', n: false }],
  });
  const [row] = buildTable(s, selectRuns(s.runs)).rows;
  assert.equal(row.entries[0].text, '0.20', 'the full run alone');
  assert.match(row.entries[0].note!, /left out: stopped by ASHA after 1 epochs \(rung 1, rank 2 of 2\)/);
});

test('a sweep that has not run is a user-facing error naming the missing ledger and what to run', () => {
  const s = spec({
    runs: { results: resultsDir(), sweeps: ['never-run'] },
    rows: [{ path: 'model.depth' }],
    cells: [{ label: 'err', value: 'metrics.test_error' }],
  });
  assert.throws(
    () => selectRuns(s.runs),
    (e: Error) =>
      e instanceof EpsilabError && /sweep never-run has not run: .*ledger\.json.*epsilab sweep/.test(e.message),
  );
});

test('rows over listed datasets and found depths show only the combinations a run or a reference has', () => {
  const root = resultsDir();
  writeRun(root, 'p/c20', { config: config(20, 0, { dataset: { type: 'cifar10' } }), result: done(0.1) });
  writeRun(root, 'p/s56', { config: config(56, 0, { dataset: { type: 'svhn' } }), result: done(0.02) });
  const s = spec({
    runs: { results: root, glob: ['p/*'] },
    rows: [{ path: 'dataset.type', values: ['cifar10', 'svhn'] }, { path: 'model.depth' }],
    cells: [{ label: 'err', value: 'metrics.test_error', reference: { values: { 'cifar10/56': 0.06 } } }],
  });
  assert.deepEqual(
    buildTable(s, selectRuns(s.runs)).rows.map((r) => r.values),
    [
      ['cifar10', 20],
      ['cifar10', 56],
      ['svhn', 56],
    ],
  );
});

test('a time in seconds shows in milliseconds with format ms (the onnxruntime latency columns)', () => {
  const root = resultsDir();
  writeRun(root, 'cifar/d20-s0', {
    config: config(20, 0),
    result: done(0.08, { compression: { after: { onnxruntime: { latency_seconds: 0.0012345 } } } }),
  });
  const s = spec({
    title: 'latency',
    runs: { results: root, glob: ['cifar/*'] },
    rows: [{ path: 'model.depth', label: 'Depth' }],
    cells: [
      { label: 'ORT ms', value: 'compression.after.onnxruntime.latency_seconds', format: 'ms', decimals: 2, n: false },
    ],
  });
  assert.deepEqual(
    buildTable(s, selectRuns(s.runs)).rows[0].entries.map((e) => e.text),
    ['1.23'],
  );
});
