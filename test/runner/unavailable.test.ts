import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAddon } from '../../src/backends/libtorch/addon.js';
import { projectRoot } from '../../src/util/paths.js';
import { tempDir } from '../helpers/tmp.js';

const BIN = join(projectRoot(), 'bin', 'epsilab.js');

/** A one-epoch synthetic config in a fresh folder; `epsilab run` on it with `sets` (and `env`), exit code and output. */
function run(
  sets: string[],
  env: Record<string, string> = {},
): { status: number | null; out: string; results: string } {
  const dir = tempDir('unavailable');
  const file = join(dir, 'tiny.yaml');
  const results = join(dir, 'results');
  writeFileSync(
    file,
    `experiment: tiny
dataset: { type: synthetic, num_classes: 3, train_size: 8, test_size: 4, height: 8, width: 8 }
model: { type: preact-resnet, depth: 8 }
optimizer: { type: momentum }
schedule: { type: step, initial: 0.05 }
loss: { type: cross-entropy }
train: { epochs: 1, batch_size: 4, eval_batch_size: 4 }
output: { root: ${JSON.stringify(results)} }
`,
  );
  const r = spawnSync(process.execPath, [BIN, 'run', file, ...sets.flatMap((s) => ['--set', s])], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: r.status, out: r.stdout + r.stderr, results };
}

function assertUserError(r: { status: number | null; out: string; results: string }): void {
  assert.equal(r.status, 2, r.out);
  assert.doesNotMatch(r.out, /internal error|\n\s+at /, "reported as the user's choice, without a stack trace");
  assert.equal(existsSync(r.results), false, 'no run folder is left behind');
}

const tfjsNodeGpu = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu');
    return 'tfjs-node-gpu is installed here';
  } catch {
    return false;
  }
})();

test(
  '--set backend=tensorflow-gpu where it is not installed: exit 2, the reason, and the backends that are available',
  { skip: tfjsNodeGpu },
  () => {
    const r = run(['backend=tensorflow-gpu']);
    assertUserError(r);
    assert.match(
      r.out,
      /epsilab run: backend 'tensorflow-gpu' is not available: not installed \(.*\)\. Available here: .*\bwasm, cpu \(backend: auto takes the first\); `epsilab doctor` says why/,
    );
  },
);

test('backend: libtorch where the addon is missing: exit 2, why, and what to use instead', () => {
  const r = run(['backend=libtorch'], { EPSILAB_LIBTORCH_ADDON: join(tmpdir(), 'no-such-dir', 'epsilab_torch.node') });
  assertUserError(r);
  assert.match(
    r.out,
    /backend 'libtorch' is not available: libtorch addon not built \(npm install builds it when libtorch is found; see native\/README\.md\)\. Available here: .*\bcpu\b/,
  );
});

const { addon } = loadAddon();
const cudaHere = !addon
  ? 'libtorch addon not built'
  : (addon.configure({}).cudaBuild ?? addon.configure({}).cuda)
    ? 'this libtorch has CUDA'
    : false;

test('device: cuda on a CPU-only libtorch: exit 2, saying how to get a CUDA build', { skip: cudaHere }, () => {
  const r = run(['backend=libtorch', 'device=cuda']);
  assertUserError(r);
  assert.match(
    r.out,
    /backend 'libtorch' is not available: device cuda needs a CUDA build of libtorch, and libtorch \S+ .*is CPU-only: install PyTorch with CUDA and rerun `npm install`/,
  );
});
