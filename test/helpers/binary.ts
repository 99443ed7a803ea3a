import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/paths.js';
import { readScalars } from '../../src/tensorboard/reader.js';

const BIN = join(projectRoot(), 'bin', 'epsilab.js');

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  pid: number;
}

export interface Watch {
  /** Sees the child as soon as it exists. */
  onStart?: (pid: number) => void;
  /** Sees everything it printed so far, after each piece. */
  onOutput?: (out: string) => void;
}

/** Bounds on a child that might hang or grow: killed (SIGKILL) after `seconds`, its data segment capped by prlimit. */
export interface Limits {
  seconds: number;
  memoryMb: number;
  /** Run as this user and group (root's tests of permissions: root ignores them). */
  user?: { uid: number; gid: number };
}

/** Runs the real `epsilab` binary, within `limits` when given. */
export function epsilab(
  args: string[],
  env: Record<string, string> = {},
  watch: Watch = {},
  limits?: Limits,
): Promise<Ran> {
  const heap = limits ? [`--max-old-space-size=${limits.memoryMb >> 1}`] : [];
  const node = [process.execPath, ...heap, BIN, ...args];
  const [command, ...rest] = limits ? ['prlimit', `--data=${limits.memoryMb * 2 ** 20}`, '--', ...node] : node;
  const child = spawn(command, rest, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    ...limits?.user,
  });
  const timer = limits && setTimeout(() => child.kill('SIGKILL'), limits.seconds * 1000);
  child.on('close', () => clearTimeout(timer));
  watch.onStart?.(child.pid!);
  let out = '';
  const take = (d: Buffer) => {
    out += d.toString();
    watch.onOutput?.(out);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, pid: child.pid! })));
}

/** A tiny synthetic experiment: 2 steps per epoch, a checkpoint after every epoch, on the pure-JavaScript backend. */
export function tinyConfig(
  root: string,
  epochs: number,
  dataset = '{ type: synthetic, num_classes: 3, train_size: 16, test_size: 8, height: 8, width: 8 }',
): string {
  const file = join(root, 'tiny.yaml');
  writeFileSync(
    file,
    `experiment: faults
backend: cpu
dataset: ${dataset}
model: { type: preact-resnet, depth: 8 }
optimizer: { type: momentum }
schedule: { type: step, initial: 0.05 }
loss: { type: cross-entropy }
train: { epochs: ${epochs}, batch_size: 8, eval_batch_size: 8 }
output: { root: ${JSON.stringify(join(root, 'results'))} }
`,
  );
  return file;
}

/** The values a run computes (no timings): equal for a run that was interrupted and resumed and one that was not. */
const COMPUTED = ['epoch', 'step', 'lr', 'train_loss', 'train_error', 'test_loss', 'test_error', 'test_top5_error'];

/** metrics.jsonl's computed values, every line whole (a torn or doubled line fails here). */
export function computedMetrics(runDir: string): Record<string, unknown>[] {
  const text = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8');
  assert.ok(text.endsWith('\n'), `${runDir}/metrics.jsonl ends with a whole line`);
  return text
    .trim()
    .split('\n')
    .map((l) => Object.fromEntries(COMPUTED.map((k) => [k, (JSON.parse(l) as Record<string, unknown>)[k]])));
}

/** Every TensorBoard scalar the folder's event files hold, as `tag@step`, sorted: a step recorded twice shows twice. */
export function recordedScalars(runDir: string): string[] {
  return readdirSync(runDir)
    .filter((n) => n.startsWith('events.out.tfevents.'))
    .flatMap((n) => [...readScalars(join(runDir, n))].flatMap(([tag, points]) => points.map((p) => `${tag}@${p.step}`)))
    .sort();
}

export function status(runDir: string): string | undefined {
  const file = join(runDir, 'result.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { status: string }).status : undefined;
}

/** A user-facing ending: no stack trace in what the binary printed. */
export function noStack(r: Ran): void {
  assert.doesNotMatch(r.out, /\n\s+at [\w.<]+ \(|internal error/, r.out);
}
