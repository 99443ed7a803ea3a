import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.js';

export interface RunFixture {
  config: Record<string, unknown>;
  result?: Record<string, unknown>;
  metrics?: Record<string, unknown>[];
}

/** A fresh results folder. */
export const resultsDir = () => tempDir('results');

/** Writes a run folder as `epsilab run` leaves it: config.json, result.json, metrics.jsonl. */
export function writeRun(root: string, id: string, run: RunFixture): string {
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(run.config));
  if (run.result) writeFileSync(join(dir, 'result.json'), JSON.stringify(run.result));
  if (run.metrics) writeFileSync(join(dir, 'metrics.jsonl'), run.metrics.map((m) => JSON.stringify(m) + '\n').join(''));
  return dir;
}

/** A ε-ResNet-like resolved config. */
export function config(depth: number, seed: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    experiment: 'cifar',
    seed,
    model: { type: 'epsilon-resnet', depth, epsilon: 2.5 },
    train: { epochs: 10 },
    output: { root: 'results' },
    ...extra,
  };
}

export function done(testError: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    status: 'done',
    experiment: 'cifar',
    run_id: 'x',
    epochs_done: 10,
    metrics: { test_error: testError },
    params: 1_730_000,
    ...extra,
  };
}

/** Epoch lines with falling error, learning rate and (for ε-ResNet) discarded blocks. */
export function epochs(n: number, extra: Record<string, unknown> = {}): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    epoch: i + 1,
    step: (i + 1) * 10,
    lr: i < n / 2 ? 0.1 : 0.01,
    train_error: 0.5 / (i + 1),
    test_error: 0.6 / (i + 1),
    discarded_cnt: i,
    ...extra,
  }));
}
