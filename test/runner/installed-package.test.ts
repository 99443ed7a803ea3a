import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/paths.js';
import { INVERT_PLUGIN } from '../helpers/plugin-files.js';
import { tempDir } from '../helpers/tmp.js';

/** What `npm pack --json` says about the tarball. */
interface Packed {
  filename: string;
  integrity: string;
  size: number;
  entryCount: number;
  files: { path: string }[];
}

const root = projectRoot();
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
  bin: Record<string, string>;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
};

function run(command: string, args: string[], options: SpawnSyncOptions & { cwd: string }) {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 300_000, ...options });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr), error: r.error };
}

/**
 * The lockfile `npm install epsilab` would write into a new project: epsilab from the tarball, and every package it
 * needs at the version and integrity this repository's lockfile pins (its dev-only packages left out). With it, npm
 * installs offline from its cache, where this repository's own `npm ci` left every tarball.
 */
function projectLock(spec: string, packed: Packed): unknown {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const packages: Record<string, unknown> = {
    '': { name: 'my-research', dependencies: { [manifest.name]: spec } },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: spec,
      integrity: packed.integrity,
      hasInstallScript: true,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages))
    if (path.startsWith('node_modules/') && !entry.dev) packages[path] = entry;
  return { name: 'my-research', lockfileVersion: 3, requires: true, packages };
}

/** Extends the starter config (which extends the shipped base) with a local plugin, cut to seconds of training. */
const TINY = `extends: quickstart.yaml
experiment: tiny
plugins: [../plugins/invert.mjs]
dataset: { subset: { train: { per_class: 8 }, test: { per_class: 4 } } }
transforms: { train: [{ type: invert }], test: [{ type: invert }] }
model: { type: preact-resnet, depth: 8 }
train: { epochs: 1, batch_size: 16, eval_batch_size: 40 }
`;

test(
  'the packed tarball installs offline into a new project, where npx epsilab init and run work',
  { timeout: 600_000 },
  (t) => {
    const work = tempDir('installed');
    const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root });
    assert.equal(pack.status, 0, pack.stderr);
    const [packed] = JSON.parse(pack.stdout) as Packed[];
    const files = packed.files.map((f) => f.path);
    for (const needed of [
      'bin/epsilab.js',
      'dist/src/runner/cli.js',
      'native/install.mjs',
      'native/fingerprint.mjs',
      'native/jpeg/build.mjs',
      'native/binding.gyp',
      'native/src/addon.cc',
      'configs/_base/fashion-mnist-quickstart.yaml',
      'schemas/experiment.schema.json',
      'data/fashion-mnist-subset/train-images-idx3-ubyte.gz',
    ])
      assert.ok(files.includes(needed), `the tarball lacks ${needed}`);
    const extra = files.filter((f) => /^(test|dist\/test|dist\/bench|bench|native\/build|results)\/|\.map$/.test(f));
    assert.deepEqual(extra, [], 'tests, benchmarks, builds and results stay out of the tarball');
    t.diagnostic(`tarball: ${packed.size} bytes, ${packed.entryCount} files`);

    const project = join(work, 'my-research');
    mkdirSync(project);
    const spec = `file:../${packed.filename}`;
    // A tarball's scripts are allowed by its full path; a registry install names the package (`epsilab: true`).
    const allowScripts = {
      [`file:${join(work, packed.filename)}`]: true,
      sharp: true,
      'onnxruntime-node': false,
      'core-js': false,
      protobufjs: false,
    };
    const pkg = { name: 'my-research', private: true, dependencies: { [manifest.name]: spec }, allowScripts };
    writeFileSync(join(project, 'package.json'), JSON.stringify(pkg, null, 2));
    writeFileSync(join(project, 'package-lock.json'), JSON.stringify(projectLock(spec, packed), null, 2));
    // The addon's libtorch build (minutes) is native/install.mjs's own test; npm 10 ignores allowScripts, hence the
    // onnxruntime variable (its documented switch) beside it.
    const env = { ...process.env, EPSILAB_SKIP_NATIVE: '1', ONNXRUNTIME_NODE_INSTALL: 'skip' };
    const install = run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: project, env });
    if (install.status !== 0 && /ENOTCACHED/.test(install.stderr)) {
      t.skip(`npm's cache lacks a package (run npm ci in the repository online first): ${install.stderr.trim()}`);
      return;
    }
    assert.equal(install.status, 0, install.stderr);
    assert.doesNotMatch(install.stdout + install.stderr, /npm warn/i, 'a clean install: no warnings');
    const record = join(project, 'node_modules', 'epsilab', 'native', 'install.json');
    assert.match(readFileSync(record, 'utf8'), /"line": "EPSILAB_SKIP_NATIVE is set; skipping the native backend"/);

    const started = Date.now();
    const help = run('npx', ['--offline', 'epsilab', '--help'], { cwd: project, env });
    const helpSeconds = (Date.now() - started) / 1000;
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^ {2}init {2,}Write a starter project/m);
    t.diagnostic(`first npx epsilab --help: ${helpSeconds.toFixed(2)} s`);
    assert.ok(helpSeconds < 5, `npx epsilab --help took ${helpSeconds} s`);

    const init = run('npx', ['--offline', 'epsilab', 'init'], { cwd: project, env });
    assert.equal(init.status, 0, init.stderr);
    assert.ok(existsSync(join(project, 'configs', 'quickstart.yaml')));
    mkdirSync(join(project, 'plugins'));
    writeFileSync(join(project, 'plugins', 'invert.mjs'), INVERT_PLUGIN);
    writeFileSync(join(project, 'configs', 'tiny.yaml'), TINY);

    const train = run('npx', ['--offline', 'epsilab', 'run', 'configs/tiny.yaml'], { cwd: project, env });
    assert.equal(train.status, 0, train.stdout + train.stderr);
    const runs = readdirSync(join(project, 'results', 'tiny'));
    assert.equal(runs.length, 1);
    const runDir = join(project, 'results', 'tiny', runs[0]);
    const result = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8')) as { status: string };
    assert.equal(result.status, 'done');
    assert.equal(readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 1);
    const config = readFileSync(join(runDir, 'config.yaml'), 'utf8');
    assert.match(config, /type: invert/);
    assert.match(config, /node_modules\/epsilab\/configs\/_base\/fashion-mnist-quickstart\.yaml:\d+:\d+/);
    const envRecord = JSON.parse(readFileSync(join(runDir, 'env.json'), 'utf8')) as {
      backend: { name: string; attempts: { backend: string; why: string }[] };
    };
    const tensorflow = envRecord.backend.attempts.find((a) => a.backend === 'tensorflow-gpu');
    assert.match(tensorflow?.why ?? '', /npm install @tensorflow\/tfjs-node-gpu@\d/);
    assert.equal(envRecord.backend.name, 'wasm', 'libtorch was skipped at install, so auto takes wasm');
  },
);
