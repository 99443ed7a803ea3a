import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTO_ORDER } from '../../src/backends/select.js';
import type { DoctorReport } from '../../src/runner/commands/doctor.js';
import { projectRoot } from '../../src/util/paths.js';

const BIN = join(projectRoot(), 'bin', 'epsilab.js');

function doctor(
  args: string[],
  env: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [BIN, 'doctor', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

test('doctor --json reports Node, every backend with why it loads or not, the libtorch build, threads, datasets and Slurm', () => {
  const dataRoot = join(tmpdir(), 'epsilab-doctor-data');
  const r = doctor(['--json'], { EPSILAB_DATA: dataRoot });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as DoctorReport;
  assert.equal(report.node, process.version);
  assert.deepEqual(
    report.backends.map((b) => b.backend),
    AUTO_ORDER,
  );
  for (const b of report.backends) assert.ok(b.why.length > 5, `${b.backend} has no reason`);
  assert.equal(report.backends.find((b) => b.backend === 'cpu')?.ok, true);
  assert.equal(report.auto, report.backends.find((b) => b.ok)?.backend);
  const libtorch = report.backends.find((b) => b.backend === 'libtorch')!;
  if (libtorch.ok) {
    const info = report.libtorch.info!;
    assert.match(info.version, /^\d+\.\d+\.\d+/);
    assert.equal(libtorch.why.startsWith(`libtorch ${info.version} on cpu`), true, libtorch.why);
    // An addon built before the CUDA fields existed reports `cuda` only (npm install rebuilds it).
    assert.equal(typeof (info.cudaBuild ?? info.cuda), 'boolean');
    if (info.cudaBuild === false) assert.equal(info.cudaDevices, 0);
    assert.equal(report.threads.libtorch, info.threads);
    assert.match(String(report.threads['OpenMP wait policy']), /^(default|passive|active) \(.+\)$/);
  } else {
    assert.equal(report.libtorch.info, null);
    assert.ok(report.libtorch.why);
  }
  assert.equal(report.datasets.root, dataRoot);
  assert.equal(report.datasets.fromEnv, true);
  assert.deepEqual(Object.keys(report.slurm), ['sbatch', 'squeue', 'scontrol', 'sacct', 'sinfo', 'scancel']);
  assert.ok(report.pytorch.python.length > 0);
});

test('doctor says why libtorch does not load and what to do, as readable lines', () => {
  const r = doctor([], { EPSILAB_LIBTORCH_ADDON: join(tmpdir(), 'no-such-dir', 'epsilab_torch.node') });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^epsilab \S+.* on Node v\d+/);
  assert.match(
    r.stdout,
    /\n {2}libtorch {11}no: libtorch addon not built \(npm install builds it when libtorch is found; see native\/README\.md\)/,
  );
  assert.match(r.stdout, /\n {2}cpu {16}loads: pure JavaScript kernels/);
  assert.match(
    r.stdout,
    /\nBackends \(backend: auto tries them in this order and takes the first that loads: here (tensorflow|wasm)\)/,
  );
  for (const title of ['libtorch addon', 'GPUs (NVIDIA driver)', 'Threads', 'Datasets', 'Slurm'])
    assert.ok(r.stdout.includes(`\n${title}`), `no ${title} section`);
});

test('doctor says how to add an opt-in TensorFlow backend and what CUDA and cuDNN its GPU build needs', (t) => {
  const installed = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].filter((pkg) => {
    try {
      createRequire(import.meta.url).resolve(pkg);
      return true;
    } catch {
      return false;
    }
  });
  if (installed.length > 0) return t.skip(`${installed.join(' and ')} installed here`);
  const r = doctor([]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /\n {2}tensorflow-gpu {5}no: not installed \(opt-in: `npm install @tensorflow\/tfjs-node-gpu@4\.22\.0` adds libtensorflow 2\.9\.1 for NVIDIA GPUs, which needs CUDA 11\.2 and cuDNN 8\.1 installed;/,
  );
  assert.match(
    r.stdout,
    /\n {2}tensorflow {9}no: not installed \(opt-in: `npm install @tensorflow\/tfjs-node@4\.22\.0` adds/,
  );
});
