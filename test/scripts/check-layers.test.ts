import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/paths.js';
import { tempFiles } from '../helpers/tmp.js';

const script = join(projectRoot(), 'scripts', 'check-layers.mjs');

/** A tree that passes: each later file plants one violation into it. */
const CLEAN = {
  'src/util/log.ts': 'export const log = 1;\n',
  'src/backends/compile.ts': "export { run } from './libtorch/run.js';\n",
  'src/backends/libtorch/run.ts': "import { log } from '../../util/log.js';\nexport const run = log;\n",
  'src/backends/fused/relu.ts': 'export const relu = 2;\n',
  'src/registry/modules.ts': 'export const load = (url: string) => import(url);\n',
  'src/train/loop.ts':
    "import { run } from '../backends/compile.js';\nimport { relu } from '../backends/fused/relu.js';\nexport const loop = run + relu + (await import('./step.js')).step;\n",
  'src/train/step.ts': 'export const step = 3;\n',
};

function check(planted: Record<string, string>): { status: number | null; stderr: string } {
  const root = tempFiles({ ...CLEAN, ...planted }, 'layers');
  return spawnSync(process.execPath, [script, '--root', root], { encoding: 'utf8' });
}

test('the layer check passes a clean tree and fails on each planted violation, naming the file and line', () => {
  assert.equal(check({}).status, 0, check({}).stderr);
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'an import of one backend from outside src/backends',
      { 'src/train/loop.ts': "import { run } from '../backends/libtorch/run.js';\nexport const loop = run;\n" },
      /src\/train\/loop\.ts:1: imports src\/backends\/libtorch\/run\.ts, inside one backend's folder/,
    ],
    [
      'an import that leaves src/',
      { 'src/train/step.ts': "import { x } from '../../bench/x.js';\nexport const step = x;\n" },
      /src\/train\/step\.ts:1: imports bench\/x\.ts, outside src\//,
    ],
    [
      'a module path built at run time outside the plugin loader',
      { 'src/train/step.ts': "const name = './loop.js';\nexport const step = await import(name);\n" },
      /src\/train\/step\.ts:2: imports a module path built at run time/,
    ],
    [
      'an import up the layers',
      { 'src/util/log.ts': "import { step } from '../train/step.js';\nexport const log = step;\n" },
      /src\/util\/log\.ts:1: src\/util imports src\/train, a layer above it/,
    ],
    [
      'a cycle between files',
      { 'src/train/step.ts': "import { loop } from './loop.js';\nexport const step = loop;\n" },
      /import cycle between files: src\/train\/loop\.ts, src\/train\/step\.ts/,
    ],
  ];
  for (const [what, planted, message] of cases) {
    const r = check(planted);
    assert.equal(r.status, 1, `${what}: exit ${r.status}`);
    assert.match(r.stderr, message, what);
  }
});
