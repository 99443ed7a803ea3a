import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { KINDS, defineComponent } from '../../src/registry/component.js';
import { createRegistry } from '../../src/registry/registry.js';
import { builtinRegistry as registry } from '../../src/components/index.js';
import { walkComponents } from '../../src/registry/conformance.js';
import { SCHEMA_FILES, schemaText } from '../../src/runner/commands/schemas.js';
import { projectRoot } from '../../src/util/paths.js';
import { loadExperiment } from '../../src/config/load.js';
import { ConfigError } from '../../src/util/errors.js';
import { VALID, testRegistry } from '../helpers/test-registry.js';
import { tempFiles as files } from '../helpers/tmp.js';

test('every registered component honours the contract: schema compiles strict, documented params, valid defaults', () => {
  const walked = walkComponents(registry);
  for (const { component, problems } of walked) assert.deepEqual(problems, [], `${component.kind} ${component.type}`);
  assert.equal(walked.length, registry.list().length);
});

test("the registry knows each built-in component's module, which exports that very component (what worker threads import)", async () => {
  for (const c of registry.list()) {
    const url = registry.moduleOf(c);
    assert.ok(url, `${c.kind} ${c.type} has a module`);
    assert.ok(Object.values(await import(url)).includes(c), `${url} exports ${c.kind} ${c.type}`);
  }
  const extra = defineComponent({
    kind: 'loss',
    type: 'extra-loss',
    doc: 'A plugin.',
    params: Type.Object({}, { additionalProperties: false }),
    build: () => null,
  });
  const withPlugin = registry.with([extra], new Map([[extra, 'file:///plugin.mjs']]));
  assert.equal(withPlugin.moduleOf(extra), 'file:///plugin.mjs');
  assert.equal(
    withPlugin.moduleOf(withPlugin.get('transform', 'flip')),
    registry.moduleOf(registry.get('transform', 'flip')),
  );
});

test('the experiment schema composed from the registry compiles under ajv strict', () => {
  assert.equal(typeof registry.validator(), 'function');
  assert.equal(typeof registry.validator(true), 'function');
  for (const kind of KINDS) assert.ok(registry.schema().$defs[kind], kind);
});

test('the committed JSON Schemas match the code (run `npx epsilab schemas --write` after changing components)', () => {
  for (const { file, schema } of SCHEMA_FILES) {
    const committed = readFileSync(join(projectRoot(), 'schemas', file), 'utf8');
    assert.equal(committed, schemaText(schema()), `schemas/${file} is out of date`);
  }
});

test('a registry refuses two components with the same kind and type, and lookups suggest the nearest', () => {
  const a = defineComponent({
    kind: 'loss',
    type: 'l',
    doc: 'd',
    params: Type.Object({}, { additionalProperties: false }),
    build: () => null,
  });
  assert.throws(() => createRegistry([a, { ...a }]), /loss type 'l' is registered twice/);
  assert.throws(
    () => testRegistry.get('model', 'toy-resnt'),
    /no model component 'toy-resnt'; did you mean 'toy-resnet'\? \(registered: 'toy-resnet', 'toy-plain'\)/,
  );
  assert.deepEqual(
    testRegistry.list('model').map((c) => c.type),
    ['toy-resnet', 'toy-plain'],
  );
});

test('a kind with no registered component still yields a schema, and naming one is an error', async () => {
  const noLoss = createRegistry(testRegistry.list().filter((c) => c.kind !== 'loss'));
  const dir = files({ 'x.yaml': VALID });
  await assert.rejects(loadExperiment(join(dir, 'x.yaml'), [], { registry: noLoss }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(
      e.diagnostics.map((d) => `${d.pos?.line}:${d.pos?.col} ${d.message}`),
      ["13:15 unknown loss type 'toy-xent' (registered: none)"],
    );
    return true;
  });
});

test('conformance names what a malformed component lacks', () => {
  const bad = { kind: 'modle', type: 'x y', doc: '', params: Type.Object({ type: Type.String() }), build: 1 } as never;
  const [{ problems }] = walkComponents(createRegistry([bad]));
  assert.deepEqual(problems, [
    'kind must be one of dataset, transform, model, optimizer, schedule, loss, distillation, callback, evaluator (got modle)',
    'type must be a name of letters, digits, dots, dashes or underscores',
    'doc must be a non-empty string',
    'build must be a function',
    'params must set additionalProperties: false, so unknown keys are reported',
    "params must not declare 'type': it selects the component",
    "parameter 'type' needs a description",
  ]);
});
