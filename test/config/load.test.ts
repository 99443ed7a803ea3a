import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { loadExperiment } from '../../src/config/load.js';
import { ConfigError } from '../../src/util/errors.js';
import { runId } from '../../src/run/run-id.js';
import { loadYamlWithPositions } from '../../src/config/yaml-source.js';
import { toDocument } from '../../src/config/document.js';
import { validateDocument } from '../../src/config/validate.js';
import { VALID, testRegistry } from '../helpers/test-registry.js';
import { tempFiles as files } from '../helpers/tmp.js';

const load = (dir: string, sets: string[] = [], file = 'x.yaml', partial = false) =>
  loadExperiment(join(dir, file), sets, { registry: testRegistry, partial });

async function messages(run: Promise<unknown>): Promise<string[]> {
  try {
    await run;
  } catch (e) {
    if (e instanceof ConfigError) return e.diagnostics.map((d) => d.message);
    throw e;
  }
  return [];
}

test('defaults are filled in and top-level keys come in reading order', async () => {
  const { config } = await load(files({ 'x.yaml': VALID }));
  assert.equal(config.backend, 'auto');
  assert.equal(config.train.eval_batch_size, 256);
  assert.deepEqual(config.transforms, { train: [], test: [] });
  assert.deepEqual(config.callbacks, []);
  assert.equal((config.model as Record<string, unknown>).width, 16);
  assert.equal((config.optimizer as Record<string, unknown>).momentum, 0.9);
  assert.deepEqual(Object.keys(config).slice(0, 3), ['experiment', 'seed', 'backend']);
});

test('extends: bases merge in order, mappings key by key, lists replace, the file wins', async () => {
  const dir = files({
    '_base/a.yaml':
      'seed: 3\ntrain: { epochs: 7, batch_size: 4 }\nschedule: { type: toy-piecewise, boundaries: [[0, 1], [1, 2], [2, 3]] }\n',
    '_base/b.yaml': 'extends: a.yaml\ntrain: { batch_size: 5 }\n',
    'x.yaml': VALID.replace('train: { epochs: 2, batch_size: 8 }\n', '')
      .replace('seed: 1\n', '')
      .replace(/^/, 'extends: [_base/b.yaml]\n'),
  });
  const { config, provenance } = await load(dir);
  assert.equal(config.seed, 3);
  assert.deepEqual([config.train.epochs, config.train.batch_size], [7, 5]);
  assert.deepEqual((config.schedule as Record<string, unknown>).boundaries, [
    [0, 0.1],
    [5, 0.01],
  ]);
  assert.equal(
    provenance.describe('train.epochs', dir),
    '_base/a.yaml:2:18 (extended by _base/b.yaml, extended by x.yaml)',
  );
  assert.equal(provenance.describe('train.batch_size', dir), '_base/b.yaml:2:22 (extended by x.yaml)');
  assert.equal(provenance.describe('schedule.boundaries', dir), 'x.yaml:12:15');
});

test('--set values are parsed as YAML, may add keys and list items, and are recorded in provenance', async () => {
  const dir = files({ 'x.yaml': VALID });
  const { config, provenance, text } = await load(dir, [
    'model.epsilon=0.5',
    'model.stages=[a, b, c]',
    'transforms.train[0].type=toy-flip',
    'description=a run',
  ]);
  assert.equal((config.model as Record<string, unknown>).epsilon, 0.5);
  assert.deepEqual((config.model as Record<string, unknown>).stages, ['a', 'b', 'c']);
  assert.deepEqual(config.transforms.train, [{ type: 'toy-flip', p: 0.5 }]);
  assert.equal(config.description, 'a run');
  assert.equal(provenance.describe('model.epsilon'), '--set model.epsilon=0.5');
  assert.equal(provenance.describe('transforms.train[0].p'), 'default');
  assert.match(text, /^ {2}epsilon: 0\.5 # --set model\.epsilon=0\.5$/m);
  assert.match(text, /^ {2}depth: 20 # x\.yaml:7:10$|^ {2}depth: 20 # .*x\.yaml:7:10$/m);
  assert.match(text, /^ {2}width: 16 # default$/m);
});

test('the printed config reads back as the same config', async () => {
  const dir = files({ 'x.yaml': VALID });
  const first = await load(dir);
  const again = await load(files({ 'x.yaml': first.text }));
  assert.deepEqual(again.config, first.config);
  assert.equal(runId(again.config), runId(first.config));
});

test('the run id is the same for equal configs whatever the key order, and changes with the seed', async () => {
  const a = await load(files({ 'x.yaml': VALID }));
  const b = await load(files({ 'x.yaml': VALID }), ['seed=2']);
  assert.match(runId(a.config), /^[0-9a-f]{12}$/);
  assert.equal(runId({ x: 1, y: [1, { b: 2, a: 1 }] }), runId({ y: [1, { a: 1, b: 2 }], x: 1 }));
  assert.notEqual(runId(a.config), runId(b.config));
});

test('a partial config (a base) requires nothing but still checks what it sets', async () => {
  const dir = files({
    '_base/p.yaml': 'train: { batch_size: 4 }\nmodel: { depth: 3 }\n',
    '_base/bad.yaml': 'train: { batch_size: 0 }\nmodel: { type: toy-resnet, depth: 3 }\n',
  });
  assert.deepEqual(await messages(load(dir, [], '_base/p.yaml', true)), []);
  assert.deepEqual((await messages(load(dir, [], '_base/bad.yaml', true))).sort(), [
    'model.depth must be >= 8 (got 3)',
    'train.batch_size must be >= 1 (got 0)',
  ]);
});

test('plugins add components from a module named in the config, relative to it', async () => {
  const plugin = `export const blur = { kind: 'transform', type: 'blur', doc: 'Blurs.', build: () => null,
    params: { type: 'object', properties: { sigma: { type: 'number', minimum: 0, default: 1, description: 'Width.' } }, additionalProperties: false } };\n`;
  const dir = files({
    'plugins/blur.mjs': plugin,
    'x.yaml': `plugins: [plugins/blur.mjs]\ntransforms: { train: [{ type: blur }] }\n${VALID}`,
  });
  const { config, registry } = await load(dir);
  assert.deepEqual(config.transforms.train, [{ type: 'blur', sigma: 1 }]);
  assert.equal(registry.get('transform', 'blur').doc, 'Blurs.');
  assert.equal(testRegistry.find('transform', 'blur'), undefined);
});

test('a missing or malformed plugin is an error at its entry', async () => {
  const dir = files({
    'bad.mjs':
      "export const c = { kind: 'transform', type: 'bad', doc: 'x', build: () => null, params: { type: 'object', properties: { a: { type: 'number' } } } };\n",
    'none.mjs': 'export const answer = 42;\n',
    'x.yaml': `plugins: [missing.mjs, bad.mjs, none.mjs]\n${VALID}`,
  });
  const msgs = await messages(load(dir));
  assert.equal(msgs.length, 3);
  assert.match(msgs[0], /^plugin file not found: .*missing\.mjs$/);
  assert.match(
    msgs[1],
    /^plugin bad\.mjs: export 'c' is not a valid component: params must set additionalProperties: false.*; parameter 'a' needs a description$/,
  );
  assert.match(msgs[2], /^plugin none\.mjs exports no components/);
});

test('union parameters report the branch the author meant', async () => {
  const registry = testRegistry.with([
    {
      kind: 'callback',
      type: 'toy-log',
      doc: 'Logs.',
      build: () => null,
      params: Type.Object(
        {
          to: Type.Union(
            [
              Type.Object({ file: Type.String() }, { additionalProperties: false }),
              Type.Object({ every: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
            ],
            {
              description: 'Where to log.',
            },
          ),
          level: Type.Union([Type.Literal('info'), Type.Literal('debug')], {
            default: 'info',
            description: 'Verbosity.',
          }),
        },
        { additionalProperties: false },
      ),
    },
  ]);
  const dir = files({ 'x.yaml': `callbacks: [{ type: toy-log, to: { every: 0 }, level: debg }]\n${VALID}` });
  const msgs = await messages(loadExperiment(join(dir, 'x.yaml'), [], { registry }));
  assert.deepEqual(msgs, [
    'callbacks[0].to.every must be >= 1 (got 0)',
    "callbacks[0].level must be one of 'info', 'debug' (got 'debg'); did you mean 'debug'?",
  ]);
});

test('validateDocument checks other YAML files against their own schema with the same diagnostics', async () => {
  const dir = files({ 'sweep.yaml': 'name: s\nseeds: [0, -1]\n' });
  const { root } = await loadYamlWithPositions(join(dir, 'sweep.yaml'));
  const doc = toDocument(join(dir, 'sweep.yaml'), root);
  const schema = Type.Object(
    { name: Type.String(), seeds: Type.Array(Type.Integer({ minimum: 0 })), grid: Type.Object({}, { default: {} }) },
    { additionalProperties: false },
  );
  const diags = validateDocument(doc, JSON.parse(JSON.stringify(schema)));
  assert.deepEqual(
    diags.map((d) => `${d.pos?.line}:${d.pos?.col} ${d.message}`),
    ['2:12 seeds[1] must be >= 0 (got -1)'],
  );
  assert.deepEqual((doc.value as Record<string, unknown>).grid, {});
});
