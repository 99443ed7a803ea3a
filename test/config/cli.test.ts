import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/paths.js';
import { tempFiles as files } from '../helpers/tmp.js';

const BIN = join(projectRoot(), 'bin', 'epsilab.js');

/** Runs the real binary in `cwd`. */
function epsilab(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, EPSILAB_DEBUG: '', ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const noStack = (text: string) => assert.doesNotMatch(text, /^\s+at .+[:(]\d+/m, 'a stack trace was printed');

/** Components of every required kind, loaded as a plugin, so the tests do not depend on what is registered. */
const PLUGIN = `const obj = (properties, required = []) => ({ type: 'object', properties, required, additionalProperties: false });
const c = (kind, type, params, extra = {}) => ({ kind, type, doc: kind + ' for CLI tests.', params, build: () => null, ...extra });
export const components = [
  c('dataset', 'cli-data', obj({ subset: { type: 'integer', minimum: 1, default: 32, description: 'Images.' } })),
  c('model', 'cli-net', obj({ depth: { type: 'integer', minimum: 8, default: 20, description: 'Layers.' } })),
  c('optimizer', 'cli-opt', obj({})),
  c('schedule', 'cli-sched', obj({ values: { type: 'array', items: { type: 'array', items: [{ type: 'integer' }, { type: 'number' }], minItems: 2, maxItems: 2, additionalItems: false }, default: [[0, 0.1]], description: 'Pairs.' } })),
  c('loss', 'cli-loss', obj({})),
  c('callback', 'cli-boom', obj({}), { check: () => { throw new Error('check exploded'); } }),
];
`;

const CONFIG = `plugins: [plugin.mjs]
experiment: cli-test
dataset: { type: cli-data }
model: { type: cli-net, depth: 20 }
optimizer: { type: cli-opt }
schedule: { type: cli-sched }
loss: { type: cli-loss }
train: { epochs: 3, batch_size: 8 }
`;

const dir = files({
  'plugin.mjs': PLUGIN,
  'good.yaml': CONFIG,
  'bad.yaml': CONFIG.replace('depth: 20', 'depht: 2'),
  '_base/part.yaml': 'train: { epochs: 4 }\n',
});

test('--help lists the commands and the exit codes; commands have --help; usage mistakes exit 2', () => {
  const top = epsilab(['--help'], dir);
  assert.equal(top.code, 0);
  for (const name of ['validate', 'print-config', 'plan', 'list', 'schemas'])
    assert.match(top.out, new RegExp(`^  ${name} +\\S`, 'm'));
  assert.match(top.out, /Exit codes: 0 ok, 1 run failed, 2 bad input or usage, 130 interrupted\./);
  const help = epsilab(['plan', 'good.yaml', '--help'], dir);
  assert.equal(help.code, 0);
  assert.match(help.out, /Usage: epsilab plan <config\.yaml>/);
  const unknown = epsilab(['validat', 'good.yaml'], dir);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command 'validat'; did you mean 'validate'\?/);
  const option = epsilab(['plan', 'good.yaml', '--frobnicate'], dir);
  assert.equal(option.code, 2);
  assert.match(option.err, /Run 'epsilab plan --help' for usage\./);
  noStack(option.err);
});

test('validate accepts several files, prints ok for each good one and compiler-style errors for bad ones, exit 2', () => {
  const r = epsilab(['validate', 'good.yaml', '_base/part.yaml', 'bad.yaml', 'missing.yaml'], dir);
  assert.equal(r.code, 2);
  assert.match(r.out, /^ok good\.yaml\nok _base\/part\.yaml\n$/);
  assert.match(
    r.err,
    /^bad\.yaml:4:25 error: unknown key 'depht' in model; did you mean 'depth'\? \(valid: type, depth\)\n 4 \| model: \{ type: cli-net, depht: 2 \}\n {3}\| {25}\^~~~~\n/m,
  );
  assert.match(r.err, /^error: cannot read missing\.yaml: no such file$/m);
  assert.match(r.err, /^2 of 4 files have problems$/m);
  noStack(r.err);
});

test('a bad --set exits 2 and names the override', () => {
  const r = epsilab(['validate', 'good.yaml', '--set', 'model.depth=[3'], dir);
  assert.equal(r.code, 2);
  assert.match(r.err, /^good\.yaml error: bad YAML value in --set model\.depth=\[3: YAML syntax: /m);
  assert.match(r.err, /^ {2}\| --set model\.depth=\[3$/m);
  noStack(r.err);
});

test('print-config prints the resolved config with the origin of every value', () => {
  const r = epsilab(['print-config', 'good.yaml', '--set', 'seed=7'], dir);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^seed: 7 # --set seed=7$/m);
  assert.match(r.out, /^ {2}depth: 20 # good\.yaml:4:32$/m);
  assert.match(r.out, /^ {2}values: \[ \[ 0, 0\.1 \] \] # default$/m);
});

test('plan shows the run folder named by the run id and the steps', () => {
  const r = epsilab(['plan', 'good.yaml'], dir);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^run folder +results\/cli-test\/[0-9a-f]{12}\/$/m);
  assert.match(r.out, /^model +cli-net \{ depth: 20 \}$/m);
  assert.match(r.out, /^steps +4 per epoch \(32 images \/ batch 8\), 12 in all$/m);
});

test('list shows components with their parameters', () => {
  const r = epsilab(['list', 'optimizers'], dir);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^optimizer \S+\n {4}\S/m);
});

test('an internal error is one line and exit 1, with no stack', () => {
  const boom = CONFIG.replace('loss: { type: cli-loss }', 'loss: { type: cli-loss }\ncallbacks: [{ type: cli-boom }]');
  const r = epsilab(['validate', 'boom.yaml'], files({ 'plugin.mjs': PLUGIN, 'boom.yaml': boom }));
  assert.equal(r.code, 1);
  assert.equal(r.err, 'epsilab validate: check exploded (internal error; rerun with EPSILAB_DEBUG=1 for the stack)\n');
});
