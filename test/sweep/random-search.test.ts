import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostics } from '../../src/util/diagnostics.js';
import { ConfigError } from '../../src/util/errors.js';
import { resolveSweep } from '../../src/sweep/resolve.js';
import { runSweep } from '../../src/sweep/run-sweep.js';
import { epsilab } from '../helpers/binary.js';
import { recorder, runsOf, scriptCommand, workspace, writeSweepFile } from '../helpers/sweep.js';
import { removeTempDirs } from '../helpers/tmp.js';

after(removeTempDirs);

const randomSweep = (root: string, n: number, seed = 7) => `sweep: drawn
base: tiny.yaml
grid: { train.batch_size: [4, 8] }
search:
  type: random
  n: ${n}
  seed: ${seed}
  params:
    model.epsilon: { uniform: [0.5, 3] }
    schedule.values: { choice: [[[0, 0.1]], [[0, 0.05]]] }
    optimizer.weight_decay: { log_uniform: [0.00001, 0.01] }
    train.epochs: { int: [1, 3] }
seeds: [0, 1]
executor: { type: local, max_parallel: 2 }
output: { root: ${root} }
`;

test('random search draws each value from its distribution, times the grid and the seeds, the same on every read', async () => {
  const w = workspace();
  const file = writeSweepFile(w.dir, randomSweep(w.dir, 5));
  const { trials } = await resolveSweep(file, w.dir);
  assert.equal(trials.length, 2 * 5 * 2);
  for (const t of trials) {
    const h = t.hparams;
    assert.ok((h['model.epsilon'] as number) >= 0.5 && (h['model.epsilon'] as number) < 3, t.slug);
    assert.ok(
      (h['optimizer.weight_decay'] as number) >= 1e-5 && (h['optimizer.weight_decay'] as number) < 1e-2,
      t.slug,
    );
    assert.ok([1, 2, 3].includes(h['train.epochs'] as number), t.slug);
    assert.ok(['[[0,0.1]]', '[[0,0.05]]'].includes(h['schedule.values'] as string), t.slug);
  }
  assert.equal(new Set(trials.map((t) => t.hparams['model.epsilon'])).size, 5, 'five different draws');

  const again = await resolveSweep(file, w.dir);
  assert.deepEqual(
    again.trials.map((t) => t.id),
    trials.map((t) => t.id),
  );
  const more = await resolveSweep(writeSweepFile(w.dir, randomSweep(w.dir, 7), 'more.yaml'), w.dir);
  const ids = new Set(more.trials.map((t) => t.id));
  assert.ok(
    trials.every((t) => ids.has(t.id)),
    'raising n keeps the trials drawn before',
  );
  const other = await resolveSweep(writeSweepFile(w.dir, randomSweep(w.dir, 5, 8), 'other.yaml'), w.dir);
  assert.ok(!other.trials.some((t) => trials.some((u) => u.id === t.id)), 'another seed draws other trials');
});

test('a random sweep run again resumes: the same trials, none run twice', async () => {
  const w = workspace();
  const file = writeSweepFile(w.dir, randomSweep(w.dir, 2));
  const command = scriptCommand(w.script, () => ({ ms: 20 }));
  const first = await runSweep({ file, observer: recorder(), command });
  assert.equal(first.counts.done, 8);
  const second = await runSweep({ file, observer: recorder(), command });
  assert.deepEqual(
    second.entries.map((e) => e.id),
    first.entries.map((e) => e.id),
  );
  for (const e of second.entries) assert.equal(runsOf(`${second.dir}/${e.dir}`), 1, e.slug);
});

test('plan lists the drawn trials through the binary; empty bounds are an error at their line', async () => {
  const w = workspace();
  const file = writeSweepFile(w.dir, randomSweep(w.dir, 3));
  const plans = [await epsilab(['plan', file]), await epsilab(['plan', file])];
  assert.equal(plans[0].code, 0, plans[0].out);
  assert.equal(plans[0].out, plans[1].out);
  assert.match(plans[0].out, /trials +12 \(12 to run\)/);
  const bad = writeSweepFile(
    w.dir,
    randomSweep(w.dir, 3).replace('{ int: [1, 3] }', '{ int: [3, 1] }').replace('[0.5, 3]', '[0.5, 0.5]'),
    'bad.yaml',
  );
  try {
    await resolveSweep(bad, w.dir);
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    const text = formatDiagnostics(err.diagnostics, w.dir);
    assert.match(text, /bad\.yaml:9:\d+ error: search: 'model\.epsilon': uniform: \[0\.5, 0\.5\] is empty/);
    assert.match(text, /bad\.yaml:12:\d+ error: search: 'train\.epochs': int: \[3, 1\] is empty/);
  }
});
