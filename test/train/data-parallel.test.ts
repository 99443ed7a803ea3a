import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadLatestCheckpoint } from '../../src/run/checkpoint.js';
import { readMetrics } from '../../src/run/run-folder.js';
import { tinyRun } from '../helpers/tiny-run.js';
import { freePort } from '../../src/util/free-port.js';
import { glooSkip } from '../helpers/gloo.js';

const TRAIN_RANK = fileURLToPath(new URL('../helpers/train-rank.js', import.meta.url));
const skip = glooSkip();

/** ε-ResNet-8 with an ε between its blocks' responses, so gates switch between steps and between the two halves. */
const config = (towers: number) => `experiment: data-parallel
seed: 5
backend: libtorch
dataset: { type: synthetic, num_classes: 3, train_size: 16, test_size: 6, height: 8, width: 8 }
transforms: { train: [{ type: per-pixel-mean }], test: [{ type: per-pixel-mean }] }
model: { type: epsilon-resnet, depth: 8, epsilon: 2.5 }
optimizer: { type: momentum, momentum: 0.9, weight_decay: 0.0002 }
schedule: { type: piecewise, values: [[0, 0.1]] }
loss: { type: cross-entropy }
train: { epochs: 3, batch_size: 8, eval_batch_size: 6, threads: 1, input_workers: 0${towers > 1 ? `, towers: ${towers}` : ''} }
`;

function trainRank(
  file: string,
  runDir: string,
  env: Record<string, string>,
): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [TRAIN_RANK, file, runDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

/** The largest difference between two checkpoints' tensors, and its name. */
function maxDifference(a: string, b: string): { name: string; diff: number } {
  const [x, y] = [a, b].map((dir) => loadLatestCheckpoint(dir, () => {})!.values);
  let worst = { name: '', diff: 0 };
  for (const [name, { data }] of x) {
    const other = y.get(name);
    assert.ok(other, `${name} is in both checkpoints`);
    for (let i = 0; i < data.length; i++) {
      const diff = Math.abs(data[i] - other.data[i]);
      if (diff > worst.diff) worst = { name, diff };
    }
  }
  return worst;
}

const close = (a: number, b: number, tolerance: number) => Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b));

test(
  '2 Gloo ranks train as train.towers: 2 in one process: losses, gates and weights',
  { skip, timeout: 240_000 },
  async () => {
    const towers = tinyRun('towers', config(2));
    const whole = tinyRun('whole-batch', config(1));
    const ranks = tinyRun('ranks', config(1));
    const port = String(await freePort());
    const dist = (rank: number) => ({
      RANK: String(rank),
      WORLD_SIZE: '2',
      MASTER_ADDR: '127.0.0.1',
      MASTER_PORT: port,
      EPSILAB_DIST_TIMEOUT: '120',
    });
    const runs = await Promise.all([
      trainRank(towers.file, towers.runDir, {}),
      trainRank(whole.file, whole.runDir, {}),
      trainRank(ranks.file, ranks.runDir, dist(0)),
      trainRank(ranks.file, ranks.runDir, dist(1)),
    ]);
    for (const r of runs) assert.equal(r.code, 0, r.out);
    const log = runs[2].out;
    assert.match(log, /data-parallel: rank 0 of 2 \(gloo\)/);
    assert.match(log, /training step: compiled/, 'the captured step replays with the allreduce inside');

    const expected = readMetrics(towers.runDir);
    const got = readMetrics(ranks.runDir);
    assert.equal(got.length, 3);
    for (const [i, m] of got.entries()) {
      const want = expected[i];
      for (const key of Object.keys(want).filter((k) => /loss|error|is_discarded|response_abs|discarded_cnt/.test(k)))
        assert.ok(
          close(m[key] as number, want[key] as number, 1e-5),
          `epoch ${i + 1} ${key}: ${m[key]} vs towers ${want[key]}`,
        );
    }
    const discarded = got.map((m) => m['res3.0/is_discarded'] as number);
    assert.ok(
      discarded.some((v) => v > 0 && v < 1) && new Set(discarded).size === 3,
      `res3.0's gate switches: ${discarded}`,
    );

    const weights = maxDifference(ranks.runDir, towers.runDir);
    assert.ok(weights.diff < 1e-4, `rank 0's ${weights.name} differs from the towers run's by ${weights.diff}`);
    // The towers semantics matter here: one batch of 8 gates and normalises differently.
    assert.ok(maxDifference(whole.runDir, towers.runDir).diff > 1e-3, 'the whole-batch run trains differently');
  },
);
