import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatDiagnostics } from '../../src/util/diagnostics.js';
import { ConfigError } from '../../src/util/errors.js';
import { loadExperiment } from '../../src/config/load.js';
import { runId } from '../../src/run/run-id.js';
import { projectRoot } from '../../src/util/paths.js';
import { fileKind } from '../../src/runner/file-kind.js';
import { planSweepLines } from '../../src/sweep/plan.js';
import { resolveSweep } from '../../src/sweep/resolve.js';
import { workspace, writeSweepFile } from '../helpers/sweep.js';
import { removeTempDirs } from '../helpers/tmp.js';

after(removeTempDirs);

/** The compiler-style text of the ConfigError `fn` throws. */
async function errorsOf(fn: () => Promise<unknown>, cwd: string): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ConfigError) return formatDiagnostics(err.diagnostics, cwd);
    throw err;
  }
  assert.fail('expected a ConfigError');
}

test('grid x zip x trials x seeds: every combination, in order, each a validated config', async () => {
  const w = workspace();
  const file = writeSweepFile(
    w.dir,
    `sweep: combos
base: tiny.yaml
grid:
  model.epsilon: [0.5, 2.5]
zip:
  train.batch_size: [4, 8]
  train.eval_batch_size: [3, 6]
trials:
  - { model.depth: 8 }
  - { model.depth: 14 }
seeds: [0, 1]
`,
  );
  const { trials, dir } = await resolveSweep(file, w.dir);
  assert.equal(trials.length, 2 * 2 * 2 * 2);
  assert.equal(trials[0].slug, 'model.epsilon=0.5,train.batch_size=4,train.eval_batch_size=3,model.depth=8,seed=0');
  assert.equal(trials[1].slug, 'model.epsilon=0.5,train.batch_size=4,train.eval_batch_size=3,model.depth=8,seed=1');
  assert.equal(trials[15].slug, 'model.epsilon=2.5,train.batch_size=8,train.eval_batch_size=6,model.depth=14,seed=1');
  assert.equal(trials[1].group, trials[0].group, 'seeds of one combination share a group');
  assert.deepEqual(trials[15].hparams, {
    'model.epsilon': 2.5,
    'train.batch_size': 8,
    'train.eval_batch_size': 6,
    'model.depth': 14,
  });
  const c = trials[15].config as {
    seed: number;
    model: { epsilon: number; depth: number };
    train: { batch_size: number; epochs: number };
  };
  assert.deepEqual([c.seed, c.model.epsilon, c.model.depth, c.train.batch_size, c.train.epochs], [1, 2.5, 14, 8, 1]);
  assert.equal(new Set(trials.map((t) => t.id)).size, 16);
  assert.equal(trials[3].dir, `${dir}/${trials[3].id}`);
  assert.equal(dir, `${w.dir}/results/combos`);
});

test("a trial's id is its run's id: the same overrides give the same id in any sweep, and what `run` computes", async () => {
  const w = workspace();
  const two = await resolveSweep(
    writeSweepFile(w.dir, 'sweep: s\nbase: tiny.yaml\ngrid: { model.epsilon: [0.5, 2.5] }\nseeds: [1]\n', 'a.yaml'),
    w.dir,
  );
  const three = await resolveSweep(
    writeSweepFile(
      w.dir,
      'sweep: s\nbase: tiny.yaml\ngrid: { model.epsilon: [0.5, 1.5, 2.5] }\nseeds: [1]\n',
      'b.yaml',
    ),
    w.dir,
  );
  assert.deepEqual(
    two.trials.map((t) => t.id),
    [three.trials[0].id, three.trials[2].id],
  );
  const { config } = await loadExperiment(w.base, two.trials[1].sets);
  assert.equal(runId(config), two.trials[1].id);
});

test('zipped lists of different lengths: an error at the line of the odd list', async () => {
  const w = workspace();
  const file = writeSweepFile(
    w.dir,
    'sweep: s\nbase: tiny.yaml\nzip:\n  train.batch_size: [4, 8]\n  train.eval_batch_size: [3, 6, 9]\n',
  );
  const text = await errorsOf(() => resolveSweep(file, w.dir), w.dir);
  assert.match(
    text,
    /^sweep\.yaml:5:26 error: zip: 'train\.eval_batch_size' has 3 values but 'train\.batch_size' has 2/,
  );
});

test("a value the experiment schema rejects: an error at the sweep file's line, naming the trial", async () => {
  const w = workspace();
  const file = writeSweepFile(w.dir, 'sweep: s\nbase: tiny.yaml\ngrid:\n  model.epsilon: [0.5, -1]\nseeds: [0, 1]\n');
  const text = await errorsOf(() => resolveSweep(file, w.dir), w.dir);
  assert.match(text, /^sweep\.yaml:4:24 error: .*epsilon.* \(trial model\.epsilon=-1,seed=0\)/m);
  assert.match(text, /^ 4 \|   model\.epsilon: \[0\.5, -1\]$/m);
});

test('one config path varied in two places, and an unknown executor key, are errors at their lines', async () => {
  const w = workspace();
  const file = writeSweepFile(
    w.dir,
    'sweep: s\nbase: tiny.yaml\ngrid: { model.epsilon: [1, 2] }\ntrials:\n  - { model: { depth: 8 } }\n',
  );
  assert.match(
    await errorsOf(() => resolveSweep(file, w.dir), w.dir),
    /^sweep\.yaml:5:7 error: trials: 'model' overlaps 'model\.epsilon', already varied by grid/,
  );
  const bad = writeSweepFile(
    w.dir,
    'sweep: s\nbase: tiny.yaml\nexecutor: { type: slurm, max_parallel: 2 }\n',
    'bad.yaml',
  );
  assert.match(
    await errorsOf(() => resolveSweep(bad, w.dir), w.dir),
    /^bad\.yaml:3:26 error: unknown key 'max_parallel' in executor/,
  );
});

test('a problem of the base config is reported once, at its own line, however many trials there are', async () => {
  const w = workspace();
  const file = writeSweepFile(w.dir, 'sweep: s\nbase: broken.yaml\ngrid: { model.epsilon: [1, 2] }\nseeds: [0, 1]\n');
  writeSweepFile(w.dir, 'extends: tiny.yaml\ntrain: { epochs: 0 }\n', 'broken.yaml');
  const text = await errorsOf(() => resolveSweep(file, w.dir), w.dir);
  assert.equal(text.match(/error:/g)?.length, 1, text);
  assert.match(text, /^broken\.yaml:2:18 error: .*epochs/);
});

test('two trials that resolve to the same config are an error', async () => {
  const w = workspace();
  const file = writeSweepFile(
    w.dir,
    'sweep: s\nbase: tiny.yaml\ntrials:\n  - { model.depth: 8 }\n  - { model.depth: 8.0 }\n',
  );
  assert.match(
    await errorsOf(() => resolveSweep(file, w.dir), w.dir),
    /^sweep\.yaml:5:20 error: trial model\.depth=8 resolves to the same config as trial model\.depth=8/,
  );
});

test('plan lists every trial with its id and state; sweep files are told from configs by their sweep: key', async () => {
  const w = workspace();
  const file = writeSweepFile(
    w.dir,
    'sweep: s\nbase: tiny.yaml\ngrid: { model.epsilon: [1, 2] }\nseeds: [0, 1]\nexecutor: { type: slurm, array_limit: 2 }\n',
  );
  const lines = await planSweepLines(file, w.dir);
  assert.ok(lines.includes('trials    4 (4 to run)'), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('executor  slurm (1 cpu, 2 at a time, requeue on SIGHUP 120 s')));
  assert.ok(lines.includes('failures  0 retries for infrastructure failures'), lines.join('\n'));
  assert.match(lines.at(-5)!, /^id {12}state {2}attempts {2}requeues {2}trial$/);
  assert.match(lines.at(-1)!, /^[0-9a-f]{12}  new    0 {9}0 {9}model\.epsilon=2,seed=1$/);
  assert.equal(await fileKind(file), 'sweep file');
  assert.equal(await fileKind(w.base), 'experiment config');
});

test('every sweep shipped in configs/sweeps expands into valid trials', async () => {
  const dir = join(projectRoot(), 'configs', 'sweeps');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 1);
  for (const f of files) {
    const { trials } = await resolveSweep(join(dir, f));
    assert.ok(trials.length >= 2, f);
  }
});
