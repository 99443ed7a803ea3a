import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { loadExperiment } from '../../src/config/load.js';
import { formatDiagnostics, type Diagnostic } from '../../src/util/diagnostics.js';
import { ConfigError } from '../../src/util/errors.js';
import { VALID, testRegistry } from '../helpers/test-registry.js';
import { tempFiles as files } from '../helpers/tmp.js';

/** Loads `main` from a folder of files and returns every diagnostic as `name:line:col message`. */
async function problems(
  contents: Record<string, string>,
  sets: string[] = [],
  main = 'x.yaml',
): Promise<{ lines: string[]; diags: Diagnostic[]; dir: string }> {
  const dir = files(contents);
  try {
    await loadExperiment(join(dir, main), sets, { registry: testRegistry });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const lines = e.diagnostics.map((d) =>
      (d.pos ? `${relative(dir, d.pos.file)}:${d.pos.line}:${d.pos.col} ${d.message}` : d.message).replaceAll(
        `${dir}/`,
        '',
      ),
    );
    return { lines, diags: e.diagnostics, dir };
  }
  return { lines: [], diags: [], dir };
}

const mutate = (from: string, to: string) => {
  assert.ok(VALID.includes(from), from);
  return VALID.replace(from, to);
};

test('the valid fixture loads', async () => {
  assert.deepEqual((await problems({ 'x.yaml': VALID })).lines, []);
});

test('a wrong type names the path, the expected type and the value, at the value', async () => {
  const { lines } = await problems({ 'x.yaml': mutate('depth: 20', 'depth: twenty') });
  assert.deepEqual(lines, ["x.yaml:7:10 model.depth must be an integer (got 'twenty')"]);
});

test('an out-of-range value names the bound', async () => {
  const { lines } = await problems({ 'x.yaml': mutate('epsilon: 2.5', 'epsilon: -1') });
  assert.deepEqual(lines, ['x.yaml:8:12 model.epsilon must be >= 0 (got -1)']);
});

test('an unknown key points at the key, suggests the nearest and lists the valid ones', async () => {
  const { lines } = await problems({ 'x.yaml': mutate('depth: 20', 'depht: 20') });
  assert.deepEqual(lines, [
    "x.yaml:7:3 unknown key 'depht' in model; did you mean 'depth'? (valid: type, depth, epsilon, width, stages, freeze)",
  ]);
});

test('an unknown top-level key is reported too', async () => {
  const { lines } = await problems({ 'x.yaml': mutate('seed: 1', 'sed: 1') });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^x\.yaml:3:1 unknown key 'sed'; did you mean 'seed'\? \(valid: .*experiment.*\)$/);
});

test('a misspelled component type suggests the nearest registered one', async () => {
  const { lines } = await problems({ 'x.yaml': mutate('type: toy-resnet', 'type: toy-resnt') });
  assert.deepEqual(lines, [
    "x.yaml:6:9 unknown model type 'toy-resnt'; did you mean 'toy-resnet'? (registered: 'toy-resnet', 'toy-plain')",
  ]);
});

test('a missing required key points at the mapping that lacks it', async () => {
  assert.deepEqual((await problems({ 'x.yaml': mutate('  epsilon: 2.5\n', '') })).lines, [
    "x.yaml:6:3 missing required key 'epsilon' in model (Gate threshold.)",
  ]);
  const top = await problems({ 'x.yaml': mutate('experiment: toy\n', '') });
  assert.equal(top.lines.length, 1);
  assert.match(top.lines[0], /^x\.yaml:2:1 missing required key 'experiment' \(/);
});

test('a component without a type lists the registered types', async () => {
  const { lines } = await problems({
    'x.yaml': mutate('optimizer: { type: toy-sgd }', 'optimizer: { momentum: 0.5 }'),
  });
  assert.deepEqual(lines, ["x.yaml:9:12 optimizer needs a 'type': one of 'toy-sgd'"]);
});

test('broken YAML syntax is reported at the parser position', async () => {
  const { lines } = await problems({ 'x.yaml': mutate('optimizer: { type: toy-sgd }', 'optimizer: { type: toy-sgd') });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^x\.yaml:\d+:\d+ YAML syntax: /);
});

test('an unclosed bracket or quote is reported where it opens, an over-indented line where it is', async () => {
  const unclosed = await problems({ 'x.yaml': mutate('optimizer: { type: toy-sgd }', 'optimizer: { type: toy-sgd') });
  assert.deepEqual(unclosed.lines, ['x.yaml:9:12 YAML syntax: this { is never closed (expected a matching })']);
  const quote = await problems({ 'x.yaml': mutate('experiment: toy', 'experiment: "toy') });
  assert.deepEqual(quote.lines, ['x.yaml:2:13 YAML syntax: this " is never closed (expected a matching ")']);
  const indented = await problems({ 'x.yaml': mutate('seed: 1', '  seed: 1') });
  assert.deepEqual(indented.lines, [
    'x.yaml:3:3 YAML syntax: this line is indented more than the lines before it, so it reads as part of the value above',
  ]);
});

test('a base file (partial config) still rejects keys that no component of the kind has', async () => {
  const dir = files({ '_base/m.yaml': 'model: { typ: toy-resnet, depth: 20 }\n' });
  try {
    await loadExperiment(join(dir, '_base/m.yaml'), [], { registry: testRegistry, partial: true });
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(
      e.diagnostics.map((d) => `${d.pos?.line}:${d.pos?.col} ${d.message}`),
      ["1:10 unknown key 'typ' in model; did you mean 'type'? (valid: type, depth, epsilon, width, stages, freeze)"],
    );
  }
});

test('a duplicate key is an error at the second occurrence', async () => {
  const { lines } = await problems({ 'x.yaml': mutate('seed: 1\n', 'seed: 1\nseed: 2\n') });
  assert.deepEqual(lines, ['x.yaml:4:1 duplicate key seed: it is already set earlier in the same mapping']);
});

test('custom and non-core tags are rejected at the tag', async () => {
  for (const tag of ['!!js/function', '!custom', '!!binary', '!!timestamp']) {
    const { lines } = await problems({ 'x.yaml': mutate('seed: 1', `seed: ${tag} 1`) });
    assert.deepEqual(lines, [
      `x.yaml:3:7 tag ${tag} is not allowed: configs hold plain data only (maps, lists, strings, numbers, booleans, null)`,
    ]);
  }
});

test('anchors and aliases are plain data and allowed', async () => {
  const text = mutate('experiment: toy', 'experiment: &name toy\ndescription: *name');
  assert.deepEqual((await problems({ 'x.yaml': text })).lines, []);
});

test('a bad --set names the override: bad path, bad YAML, a path through a scalar, no =', async () => {
  const cases: [string, RegExp][] = [
    ['model..depth=3', /^--set model\.\.depth=3: 'model\.\.depth' is not a path/],
    ['model.epsilon=[1, 2', /^bad YAML value in --set model\.epsilon=\[1, 2: YAML syntax: /],
    ['model.depth.x=3', /^--set model\.depth\.x=3: model\.depth is a number, so it has no key 'x'$/],
    [
      'schedule.boundaries[5]=[1, 1]',
      /^--set schedule\.boundaries\[5\]=\[1, 1\]: index 5 is past the end of schedule\.boundaries \(2 items\)$/,
    ],
    ['model.depth', /^--set model\.depth: expected path=value/],
  ];
  for (const [set, expected] of cases) {
    const { diags } = await problems({ 'x.yaml': VALID }, [set]);
    assert.equal(diags.length, 1, set);
    assert.match(diags[0].message, expected);
    assert.equal(diags[0].pos?.set, set);
  }
});

test('a value set by --set that breaks the schema says so and points into the override', async () => {
  const { diags } = await problems({ 'x.yaml': VALID }, ['model.epsilon=-1']);
  assert.equal(diags.length, 1);
  assert.equal(diags[0].message, 'model.epsilon must be >= 0 (got -1)');
  assert.deepEqual([diags[0].pos?.line, diags[0].pos?.col, diags[0].pos?.lineText], [1, 21, '--set model.epsilon=-1']);
  const text = formatDiagnostics(diags, '/');
  assert.match(
    text,
    /model\.epsilon must be >= 0 \(got -1\) \(from --set model\.epsilon=-1\)\n {2}\| --set model\.epsilon=-1\n {2}\| {21}\^~$/,
  );
});

test('a bad value inherited through extends points at the base file and names the chain', async () => {
  const base = 'optimizer: { type: toy-sgd, momentum: 1.5 }\n';
  const { lines, diags, dir } = await problems({
    '_base/opt.yaml': base,
    'x.yaml': `extends: _base/opt.yaml\n${mutate('optimizer: { type: toy-sgd }\n', '')}`,
  });
  assert.deepEqual(lines, ['_base/opt.yaml:1:39 optimizer.momentum must be <= 1 (got 1.5)']);
  const text = formatDiagnostics(diags, dir);
  assert.match(
    text,
    /^_base\/opt\.yaml:1:39 error: optimizer\.momentum must be <= 1 \(got 1\.5\) \(set in _base\/opt\.yaml, extended by x\.yaml\)\n/,
  );
});

test('an extends cycle is reported with the chain at the extends entry', async () => {
  const { lines } = await problems({
    'x.yaml': `extends: a.yaml\n${VALID}`,
    'a.yaml': 'extends: [b.yaml]\n',
    'b.yaml': 'extends: x.yaml\n',
  });
  assert.deepEqual(lines, ['b.yaml:1:10 extends cycle: x.yaml -> a.yaml -> b.yaml -> x.yaml']);
});

test('a missing extends file is reported at the entry', async () => {
  const { lines } = await problems({ 'x.yaml': `extends: [_base/nope.yaml]\n${VALID}` });
  assert.equal(lines.length, 1);
  assert.deepEqual(lines, ['x.yaml:1:11 cannot read _base/nope.yaml: no such file']);
});

test('every error is reported at once, sorted by line, with source line and caret', async () => {
  const text = mutate('depth: 20', 'depth: 2').replace('seed: 1', 'seed: -3').replace('epochs: 2', 'epochs: 0');
  const { diags, dir } = await problems({ 'x.yaml': text });
  const out = formatDiagnostics(diags, dir);
  const heads = out.split('\n').filter((l) => /^x\.yaml:/.test(l));
  assert.deepEqual(heads, [
    'x.yaml:3:7 error: seed must be >= 0 (got -3)',
    'x.yaml:7:10 error: model.depth must be >= 8 (got 2)',
    'x.yaml:14:18 error: train.epochs must be >= 1 (got 0)',
  ]);
  assert.match(out, /\n 7 \|   depth: 2\n {3}\| {10}\^\n/);
  assert.match(out, /\n3 errors$/);
});

test('cross-field rules: schedule epochs must increase, batch must fit the subset, component checks', async () => {
  const text = mutate('[[0, 0.1], [5, 0.01]]', '[[0, 0.1], [5, 0.01], [5, 0.001]]')
    .replace('batch_size: 8', 'batch_size: 100')
    .replace('epsilon: 2.5', 'epsilon: 2.5\n  freeze: c');
  const { lines } = await problems({ 'x.yaml': text });
  assert.deepEqual(lines, [
    'x.yaml:9:11 model.freeze names no stage (stages: a, b)',
    'x.yaml:13:38 schedule.boundaries[2][0] must be greater than the epoch before it (5): epochs in [[epoch, value], ...] must strictly increase (got 5)',
    'x.yaml:15:33 train.batch_size (100) is larger than the training set (dataset.subset = 64 images): not one full batch per epoch',
  ]);
});

test('an evaluation is checked like any component, and its name must make metric names, at file:line:col', async () => {
  const { lines } = await problems({
    'x.yaml': `${VALID}evaluations:
  test: { type: clasification }
  train_eval: { type: classification, split: val, every: 0 }
  train: { type: classification }
`,
  });
  assert.deepEqual(lines, [
    "x.yaml:18:3 bad name 'train' in evaluations: a name of letters, digits and single underscores, not train (train_error is the training error)",
    "x.yaml:16:17 unknown evaluator type 'clasification'; did you mean 'classification'? (registered: 'classification')",
    "x.yaml:17:46 evaluations.train_eval.split must be one of 'test', 'train' (got 'val')",
    'x.yaml:17:58 evaluations.train_eval.every must be >= 1 (got 0)',
  ]);
  assert.deepEqual((await problems({ 'x.yaml': `${VALID}evaluations: {}\n` })).lines, [
    'x.yaml:15:14 evaluations must have at least 1 entry (got 0)',
  ]);
});

test('evaluations left out are the schema default: one classification of the test split named test', async () => {
  const dir = files({ 'x.yaml': VALID });
  const { config, text } = await loadExperiment(join(dir, 'x.yaml'), [], { registry: testRegistry });
  assert.deepEqual(config.evaluations, { test: { type: 'classification', split: 'test' } });
  assert.match(text, /type: classification # default/);
});
