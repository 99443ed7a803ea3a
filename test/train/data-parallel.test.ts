import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadLatestCheckpoint } from '../../src/run/checkpoint.js';
import { readMetrics } from '../../src/run/run-folder.js';
import { tinyRun } from '../helpers/tiny-run.js';
import { freePort } from '../../src/util/free-port.js';
import { glooSkip } from '../helpers/gloo.js';

const TRAIN_RANK = fileURLToPath(new URL('../helpers/train-rank.js', import.meta.url));
const skip = glooSkip();

/** ε-ResNet-8 with an ε between its blocks' responses, so gates switch between steps and between the two halves. */
const config = (towers: number, epochs = 3, batch = 8, compile = 'auto') => `experiment: data-parallel
seed: 5
backend: libtorch
dataset: { type: synthetic, num_classes: 3, train_size: 16, test_size: 6, height: 8, width: 8 }
transforms: { train: [{ type: per-pixel-mean }], test: [{ type: per-pixel-mean }] }
model: { type: epsilon-resnet, depth: 8, epsilon: 2.5 }
optimizer: { type: momentum, momentum: 0.9, weight_decay: 0.0002 }
schedule: { type: piecewise, values: [[0, 0.1]] }
loss: { type: cross-entropy }
train: { epochs: ${epochs}, batch_size: ${batch}, eval_batch_size: 6, threads: 1, input_workers: 0, compile: ${compile}${towers > 1 ? `, towers: ${towers}` : ''} }
`;

/** torchrun's environment for rank `rank` of 2 ranks meeting at `port`. */
const rankEnv = (rank: number, port: number) => ({
  RANK: String(rank),
  WORLD_SIZE: '2',
  MASTER_ADDR: '127.0.0.1',
  MASTER_PORT: String(port),
  EPSILAB_DIST_TIMEOUT: '120',
});

/** Trains a config in a process of its own; `onOutput` sees its output so far and the process, after each piece. */
function trainRank(
  file: string,
  runDir: string,
  env: Record<string, string>,
  onOutput: (out: string, child: ChildProcess) => void = () => {},
): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [TRAIN_RANK, file, runDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  const take = (d: Buffer) => {
    out += d.toString();
    onOutput(out, child);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
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
  '2 Gloo ranks, stepping eagerly, train as train.towers: 2 in one process: losses, gates and weights',
  { skip, timeout: 240_000 },
  async () => {
    const towers = tinyRun('towers', config(2));
    const whole = tinyRun('whole-batch', config(1));
    // Eager here; the stop-and-resume test below runs the captured step, the allreduce replayed inside it.
    const ranks = tinyRun('ranks', config(1, 3, 8, 'off'));
    const port = await freePort();
    const runs = await Promise.all([
      trainRank(towers.file, towers.runDir, {}),
      trainRank(whole.file, whole.runDir, {}),
      trainRank(ranks.file, ranks.runDir, rankEnv(0, port)),
      trainRank(ranks.file, ranks.runDir, rankEnv(1, port)),
    ]);
    for (const r of runs) assert.equal(r.code, 0, r.out);
    const log = runs[2].out;
    assert.match(log, /data-parallel: rank 0 of 2 \(gloo\)/);
    assert.match(log, /training step: eager \(train.compile is off\)/);

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

test(
  'a data-parallel run stopped mid-epoch stops every rank after the same step and resumes to the uninterrupted result',
  { skip, timeout: 240_000 },
  async () => {
    // 8 steps per epoch (one image per rank): the stop comes while an epoch is under way, however late it arrives.
    const towers = tinyRun('towers-uninterrupted', config(2, 2, 2));
    const ranks = tinyRun('ranks-resumed', config(1, 2, 2));
    const port = await freePort();
    let signalled = false;
    const stopRankZero = (out: string, child: ChildProcess) => {
      if (!signalled && /compiled step captured/.test(out)) child.kill('SIGTERM');
      signalled ||= /compiled step captured/.test(out);
    };
    const [reference, ...stopped] = await Promise.all([
      trainRank(towers.file, towers.runDir, {}),
      trainRank(ranks.file, ranks.runDir, rankEnv(0, port), stopRankZero),
      trainRank(ranks.file, ranks.runDir, rankEnv(1, port)),
    ]);
    assert.equal(reference.code, 0, reference.out);
    // rank 0 writes the checkpoint, rank 1 stops with it
    const at = stopped.map((r) => /(?:checkpoint written|stopped) at (epoch \d+, step (\d+))/.exec(r.out));
    assert.ok(at[0] && Number(at[0][2]) < 8, `rank 0 stopped mid-epoch: ${stopped[0].out}`);
    assert.equal(at[1]?.[1], at[0][1], 'rank 1, never signalled, stops after the same step');
    for (const r of stopped) assert.equal(r.code, 130, r.out);

    const resumePort = await freePort();
    const resumed = await Promise.all([0, 1].map((r) => trainRank(ranks.file, ranks.runDir, rankEnv(r, resumePort))));
    for (const r of resumed) assert.equal(r.code, 0, r.out);
    assert.match(resumed[0].out, /training step: compiled/, 'the captured step replays with the allreduce inside');
    assert.match(resumed[0].out, new RegExp(`resuming from .* at ${at[0][1]}`));
    const [expected, got] = [towers.runDir, ranks.runDir].map(readMetrics);
    assert.equal(got.length, 2);
    for (const [i, m] of got.entries())
      for (const key of ['train_loss', 'train_error', 'test_loss', 'test_error'])
        assert.ok(
          close(m[key] as number, expected[i][key] as number, 1e-5),
          `epoch ${i + 1} ${key}: ${m[key]} vs ${expected[i][key]}`,
        );
    const weights = maxDifference(ranks.runDir, towers.runDir);
    assert.ok(weights.diff < 1e-4, `${weights.name} differs from the uninterrupted towers run's by ${weights.diff}`);
  },
);
