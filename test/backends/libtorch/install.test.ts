import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../src/util/paths.js';
import { tempDir } from '../../helpers/tmp.js';

const native = join(projectRoot(), 'native');
const ADDON = join('build', 'Release', 'epsilab_torch.node');

test('the install script leaves built addons alone while their sources and libraries are unchanged, and rebuilds when a source changes', (t) => {
  const record = existsSync(join(native, 'install.json'))
    ? (JSON.parse(readFileSync(join(native, 'install.json'), 'utf8')) as { status: string; fingerprint?: string })
    : null;
  if (record?.status !== 'built' || !record.fingerprint || !existsSync(join(native, ADDON)))
    return t.skip('no addon built by this install script here (node native/install.mjs builds one where libtorch is)');
  const built = statSync(join(native, ADDON)).mtimeMs;
  const sources = ['install.mjs', 'binding.gyp', ...readdirSync(join(native, 'src')).map((f) => join('src', f))];
  if (sources.some((f) => statSync(join(native, f)).mtimeMs > built))
    return t.skip(
      'native sources are newer than the addon here (changed or checked out since): node native/install.mjs',
    );
  // A copy, so that the rebuild this test provokes cannot touch the addon the other tests load.
  const copy = join(tempDir('native-install'), 'native');
  for (const part of ['install.mjs', 'fingerprint.mjs', 'binding.gyp', 'src', 'install.json', ADDON, 'jpeg'])
    cpSync(join(native, part), join(copy, part), { recursive: true, preserveTimestamps: true });
  const copied = statSync(join(copy, ADDON)).mtimeMs;
  const install = () =>
    spawnSync(process.execPath, [join(copy, 'install.mjs')], { encoding: 'utf8', timeout: 120_000, env: process.env });

  const again = install();
  assert.equal(again.status, 0, again.stderr);
  assert.match(
    again.stdout,
    /^epsilab libtorch backend: built against .*; sources and libtorch unchanged since, not rebuilt$/m,
  );
  assert.equal(statSync(join(copy, ADDON)).mtimeMs, copied, 'the addon is not rebuilt');
  assert.equal(JSON.parse(readFileSync(join(copy, 'install.json'), 'utf8')).fingerprint, record.fingerprint);
  if (existsSync(join(native, 'jpeg', 'build', 'inputs.sha256')))
    assert.match(
      again.stdout,
      /^epsilab JPEG fast path: built against libjpeg-turbo; sources unchanged since, not rebuilt$/m,
    );

  appendFileSync(join(copy, 'src', 'addon.cc'), '\n// changed\n');
  const changed = install();
  assert.equal(changed.status, 0, changed.stderr);
  // The copy has no node_modules beside it, so the rebuild it starts stops at finding node-gyp: proof enough that it
  // did not take the unchanged path, without minutes of compiling.
  assert.match(changed.stdout, /^epsilab libtorch backend: node-gyp is not installed; skipping the native backend$/m);
});
