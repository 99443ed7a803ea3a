import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.js';

/** ε-ResNet-8 on 16 synthetic 8×8 images of 3 classes: one epoch of 2 steps on the cpu backend. */
export const TINY_CONFIG = `experiment: tiny
seed: 3
backend: cpu
dataset: { type: synthetic, num_classes: 3, train_size: 16, test_size: 6, height: 8, width: 8 }
transforms:
  train: [{ type: per-pixel-mean }]
  test: [{ type: per-pixel-mean }]
model: { type: epsilon-resnet, depth: 8, epsilon: 0.5 }
optimizer: { type: momentum, momentum: 0.9, weight_decay: 0.0002 }
schedule: { type: piecewise, values: [[0, 0.1]] }
loss: { type: cross-entropy }
train: { epochs: 1, batch_size: 8, eval_batch_size: 6 }
`;

/** What most tiny runs share: the cpu backend, per-pixel mean and cross-entropy. */
export const TINY_COMMON = `backend: cpu
transforms: { train: [{ type: per-pixel-mean }], test: [{ type: per-pixel-mean }] }
loss: { type: cross-entropy }
`;

export interface TinyRun {
  /** The temp folder holding the config. */
  dir: string;
  /** The config file, `<dir>/<name>.yaml`. */
  file: string;
  /** Where its run folder goes: `<dir>/run`. */
  runDir: string;
}

/** A temp folder with `text` written as the config `<name>.yaml`. */
export function tinyRun(name: string, text: string): TinyRun {
  const dir = tempDir(name);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  return { dir, file, runDir: join(dir, 'run') };
}

/** Trains a config file in this process as `epsilab run` does; `onLog` sees every line and may stop the run. */
export async function trainConfig(
  file: string,
  runDir: string,
  onLog: (line: string, stop: () => void) => void = () => {},
): Promise<{ code: number; lines: string[] }> {
  // Imported here so that tests using only the configs above do not load the trainer.
  const [{ loadExperiment }, { executeRun }] = await Promise.all([
    import('../../src/config/load.js'),
    import('../../src/app/execute.js'),
  ]);
  const { config, text, registry } = await loadExperiment(file);
  const lines: string[] = [];
  const stop = { requested: false, signal: 'test stop' };
  const code = await executeRun({
    config,
    configText: text,
    configDir: join(file, '..'),
    runDir,
    registry,
    stop,
    log: (l) => {
      lines.push(l);
      onLog(l, () => (stop.requested = true));
    },
  });
  return { code, lines };
}
